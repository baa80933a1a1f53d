// What check finds in one source database, from facts made up here (the
// reads run against real clusters in test/e2e/check.test.ts and
// schema-restore.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceDatabaseFindings, type SourceDatabaseFacts } from '../../src/checks/source-database.js';
import type { TableInfo } from '../../src/pg/catalog.js';
import type { ReplicaIdentityPlan } from '../../src/replication/replica-identity.js';

function table(name: string, over: Partial<TableInfo> = {}): TableInfo {
  return {
    schema: 'public', name, oid: 1, relkind: 'r', persistence: 'p', isPartition: false, replident: 'd', hasPk: true,
    replidentIndex: null, extension: null, estRows: 10, bytes: 8192, ...over,
  };
}
const plan = (t: TableInfo, action: ReplicaIdentityPlan['action'], over: Partial<ReplicaIdentityPlan> = {}): ReplicaIdentityPlan => ({ table: t, action, reason: '', ...over });

const orders = table('orders');
const events = table('events', { hasPk: false });
const geo = table('geo', { hasPk: false });

/** A healthy database of one table, read by a superuser; each test changes what it is about. */
function facts(over: Partial<SourceDatabaseFacts> = {}): SourceDatabaseFacts {
  return {
    database: 'app', exclude: [], sourceMajor: 14, publishViaPartitionRoot: true, role: 'migrator',
    all: [orders], catalog: { large_objects: '0', lo_columns: [], materialized_views: [], extensions: [], can_create: true },
    identities: [plan(orders, 'keep')], publication: { tables: [orders], notCarried: [] }, notOwned: null, notValid: [],
    restore: [], legacy: [], targetExtensions: new Set(), ...over,
  };
}
const byId = (f: SourceDatabaseFacts) => sourceDatabaseFindings(f).map((x) => [x.id, x.severity]);

test('a plain database: one table to replicate, nothing else to say, every finding names the database', () => {
  const found = sourceDatabaseFindings(facts());
  assert.deepEqual(found, [{ id: 'tables', severity: 'ok', side: 'source', database: 'app', title: '1 table to replicate (1 of 1 tables and partitions with a usable replica identity already)', objects: [] }]);
});

test('tables without a key: the identity start sets, or copied at switchover when none can be set', () => {
  const found = sourceDatabaseFindings(facts({
    all: [orders, events, geo],
    identities: [plan(orders, 'keep'), plan(events, 'use-index', { index: 'events_uq' }), plan(geo, 'cannot', { reason: 'column shape has no equality operator' })],
    publication: { tables: [orders, events], notCarried: [{ schema: 'public', name: 'geo', reason: 'x' }] },
  }));
  assert.deepEqual(found.map((f) => f.id), ['tables', 'no-primary-key', 'replica-identity-impossible']);
  assert.equal(found[0]!.title, '2 tables to replicate (1 of 2 tables and partitions with a usable replica identity already); 1 more not replicated: pgshift switchover copies it while writes are paused (listed below)');
  assert.deepEqual(found[1]!.objects, ['public.events: USING INDEX events_uq']);
  assert.deepEqual(found[2]!.objects, ['public.geo: column shape']);
  assert.match(found[2]!.title, /^1 table without a primary key .* pgshift copies it at switchover$/);
});

test('nothing to replicate is a warning', () => {
  assert.deepEqual(byId(facts({ all: [], identities: [], publication: { tables: [], notCarried: [] } })), [['tables', 'warn']]);
});

test('an exclude pattern that matches no table is reported, with where to fix it', () => {
  const found = sourceDatabaseFindings(facts({ exclude: ['public.orders', 'public.ordrs', 'audit.*'] }));
  assert.equal(found[0]!.id, 'exclude-unmatched');
  assert.deepEqual(found[0]!.objects, ['public.ordrs', 'audit.*']);
  assert.equal(found[0]!.title, '2 exclude patterns match no table in this database');
  assert.match(found[0]!.fix!, /databases\.app\.exclude/);
});

test('a non-superuser source role must be able to CREATE in the database and own what it publishes', () => {
  assert.deepEqual(byId(facts({ notOwned: [] })), [['tables', 'ok']], 'owner of everything, may create');
  const noCreate = sourceDatabaseFindings(facts({ notOwned: [], catalog: { ...facts().catalog, can_create: false } })).find((f) => f.id === 'privileges.database');
  assert.equal(noCreate?.title, 'role migrator may not CREATE in this database (CREATE PUBLICATION needs it)', 'owner of everything, may not create');
  const found = sourceDatabaseFindings(facts({ notOwned: [{ schema: 'public', name: 'orders' }], catalog: { ...facts().catalog, can_create: false } })).find((f) => f.id === 'privileges.database')!;
  assert.equal(found.severity, 'fail');
  assert.equal(found.title, 'role migrator may not CREATE in this database (CREATE PUBLICATION needs it); role migrator does not own 1 table (a publication needs the owner)');
  assert.deepEqual(found.objects, ['public.orders']);
  assert.equal(found.fix, 'Connect as a superuser, or GRANT CREATE ON DATABASE "app" TO "migrator" and make it (a member of) the owner of these tables.');
  // A superuser's ownership is not read (null): nothing to report even if it may not CREATE.
  assert.deepEqual(byId(facts({ catalog: { ...facts().catalog, can_create: false } })), [['tables', 'ok']]);
});

test('what replication does not carry is said, excluded and extension tables left out', () => {
  const found = sourceDatabaseFindings(facts({
    exclude: ['public.scratch'],
    all: [orders, table('cache', { persistence: 'u' }), table('scratch', { persistence: 'u' }), table('ext_cache', { persistence: 'u', extension: 'e' }), table('m', { relkind: 'p' })],
    catalog: { large_objects: '3', lo_columns: ['public.docs.body'], materialized_views: [{ schema: 'rep', name: 'daily' }], extensions: [], can_create: true },
    publishViaPartitionRoot: false, sourceMajor: 12,
  }));
  const of = (id: string) => found.find((f) => f.id === id)!;
  assert.match(of('large-objects').title, /^3 large objects: .* copies them at switchover, with their OIDs .*1 column of type oid or lo can refer to them/);
  assert.deepEqual(of('unlogged-tables').objects, ['public.cache']);
  assert.deepEqual(of('materialized-views').objects, ['rep.daily']);
  assert.equal(of('partitioned-tables').title, '1 partitioned table on PostgreSQL 12: each leaf partition is published on its own (publish_via_partition_root needs 13)');
  // From 13 a partitioned table is published through its root: nothing to say.
  assert.equal(sourceDatabaseFindings(facts({ all: [table('m', { relkind: 'p' })] })).some((f) => f.id === 'partitioned-tables'), false);
});

test('extensions: a missing one fails on the target side with its version, else all available is ok', () => {
  const extensions = [{ name: 'postgis', version: '3.4' }, { name: 'hstore', version: '1.8' }, { name: 'citext', version: '1.6' }];
  const missing = sourceDatabaseFindings(facts({ catalog: { ...facts().catalog, extensions }, targetExtensions: new Set(['hstore']) })).find((f) => f.id === 'extensions')!;
  assert.deepEqual([missing.severity, missing.side, missing.objects], ['fail', 'target', ['citext 1.6', 'postgis 3.4']]);
  const all = sourceDatabaseFindings(facts({ catalog: { ...facts().catalog, extensions }, targetExtensions: new Set(['hstore', 'citext', 'postgis']) })).find((f) => f.id === 'extensions')!;
  assert.equal(all.title, 'all 3 source extensions are available on the target');
});

test('findings keep their order; restore and legacy problems are the source\'s, their short form left out', () => {
  const found = sourceDatabaseFindings(facts({
    exclude: ['x.y'],
    notValid: [{ kind: 'table', schema: 'public', name: 'orders', constraint: 'positive', def: 'CHECK (n > 0) NOT VALID', comment: null, depth: 0 }],
    restore: [{ id: 'restore.lz4', severity: 'fail', title: 'lz4', objects: [], fix: 'f' }],
    legacy: [{ id: 'legacy.with-oids', severity: 'fail', title: 'oids', short: 'WITH OIDS', objects: [], fix: 'f' }],
    catalog: { ...facts().catalog, extensions: [{ name: 'hstore', version: '1.8' }] },
  }));
  assert.deepEqual(found.map((f) => f.id), ['exclude-unmatched', 'tables', 'not-valid-checks', 'restore.lz4', 'extensions', 'legacy.with-oids']);
  assert.deepEqual(found[3], { id: 'restore.lz4', severity: 'fail', title: 'lz4', objects: [], fix: 'f', side: 'source', database: 'app' });
  assert.deepEqual(found[2]!.objects, ['public.orders.positive']);
  assert.equal('short' in found[5]!, false);
});
