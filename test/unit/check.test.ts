// Pure parts of check: replica identity decisions, capacity arithmetic,
// finding order and the human rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { decideReplicaIdentity, type IdentityFacts } from '../../src/replication/replica-identity.js';
import { capacityRows, type CapacityInput, type SideUsage } from '../../src/checks/capacity.js';
import { missingExtensions, orderFindings, type CheckReport, type Finding } from '../../src/steps/check.js';
import { formatObjects, renderCheck, summaryLine } from '../../src/cli/commands/check.js';
import { Output } from '../../src/cli/output.js';
import { selectDatabases, type Config } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';

const facts = (f: Partial<IdentityFacts>): IdentityFacts => ({ replident: 'd', pkIndex: null, replidentIndex: null, candidates: [], noEquality: [], ...f });

test('replica identity: keep what works, else the smallest usable index, else FULL, else cannot', () => {
  assert.equal(decideReplicaIdentity(facts({ pkIndex: 't_pkey', candidates: [{ name: 't_pkey', ncols: 1 }] })).action, 'keep');
  assert.equal(decideReplicaIdentity(facts({ replident: 'i', replidentIndex: 'u' })).action, 'keep');
  assert.equal(decideReplicaIdentity(facts({ replident: 'f' })).action, 'keep');
  // An index identity whose index was dropped behaves as NOTHING: plan again.
  assert.equal(decideReplicaIdentity(facts({ replident: 'i', candidates: [{ name: 'a', ncols: 1 }] })).action, 'use-index');

  const idx = decideReplicaIdentity(facts({ candidates: [{ name: 'one col', ncols: 1 }, { name: 'two', ncols: 2 }], noEquality: [{ column: 'j', type: 'json' }] }));
  assert.deepEqual([idx.action, idx.index], ['use-index', 'one col']);
  // NOTHING on a table with a primary key: use the key, whatever is narrower.
  const nothing = decideReplicaIdentity(facts({ replident: 'n', pkIndex: 'pk', candidates: [{ name: 'a', ncols: 1 }, { name: 'pk', ncols: 2 }] }));
  assert.deepEqual([nothing.action, nothing.index], ['use-index', 'pk']);

  assert.equal(decideReplicaIdentity(facts({})).action, 'full');
  const cannot = decideReplicaIdentity(facts({ noEquality: [{ column: 'j', type: 'json' }, { column: 'p', type: 'point' }] }));
  assert.equal(cannot.action, 'cannot');
  assert.match(cannot.reason, /columns j \(json\), p \(point\) have no equality operator/);
  // FULL that cannot work is not kept.
  assert.equal(decideReplicaIdentity(facts({ replident: 'f', noEquality: [{ column: 'j', type: 'json' }] })).action, 'cannot');
});

const usage = (u: Partial<SideUsage> & { settings?: Record<string, number> }): SideUsage => ({
  major: 16, slots: 0, walSenders: 0, bgWorkers: 0, launcherRunning: true, subscriptions: 0, enabledSubscriptions: 0,
  ...u,
  settings: {
    max_replication_slots: 10, max_wal_senders: 10, max_worker_processes: 8, max_logical_replication_workers: 4,
    max_active_replication_origins: 10, ...u.settings,
  },
});

function rowOf(input: CapacityInput, side: string, setting: string, resource?: string) {
  const r = capacityRows(input).find((x) => x.side === side && x.setting === setting && (!resource || x.resource === resource));
  assert.ok(r, `no row ${side} ${setting}`);
  return r;
}

test('capacity: one slot and sender per database, table-sync extra, slots in use counted', () => {
  const base: CapacityInput = { pending: 2, reverse: 0, syncWorkers: 2, source: usage({ slots: 3 }), target: usage({}) };
  const slots = rowOf(base, 'source', 'max_replication_slots');
  assert.deepEqual([slots.inUse, slots.required, slots.recommended, slots.severity], [3, 2, 6, 'ok']);
  // 10 slots, 3 in use: 2 more is fine, 6 more would be 9: ok; with 6 in use, 6 more is a warning, 9 in use a fail.
  assert.equal(rowOf({ ...base, source: usage({ slots: 6 }) }, 'source', 'max_replication_slots').severity, 'warn');
  assert.equal(rowOf({ ...base, source: usage({ slots: 9 }) }, 'source', 'max_replication_slots').severity, 'fail');
  assert.equal(rowOf({ ...base, source: usage({ walSenders: 9 }) }, 'source', 'max_wal_senders').severity, 'fail');
  // Target: apply + sync workers; the launcher counts when it is not running yet.
  const workers = rowOf({ ...base, target: usage({ launcherRunning: false, bgWorkers: 1 }) }, 'target', 'max_worker_processes');
  assert.deepEqual([workers.required, workers.recommended], [3, 7]);
  assert.equal(workers.severity, 'ok');
  assert.equal(rowOf({ ...base, target: usage({ settings: { max_logical_replication_workers: 1 } }) }, 'target', 'max_logical_replication_workers').severity, 'fail');
  // No reverse: no rows for it.
  assert.ok(!capacityRows(base).some((r) => r.why.includes('reverse')));
});

test('capacity: origins live in max_replication_slots before 18, max_active_replication_origins from 18', () => {
  const input: CapacityInput = { pending: 1, reverse: 1, syncWorkers: 2, source: usage({ major: 12 }), target: usage({ major: 17, subscriptions: 10 }) };
  const o17 = rowOf(input, 'target', 'max_replication_slots', 'origins');
  assert.equal(o17.severity, 'fail', 'ten subscriptions already hold every origin');
  assert.equal(rowOf(input, 'target', 'max_replication_slots', 'slots').severity, 'ok');
  const on18 = capacityRows({ ...input, target: usage({ major: 18, subscriptions: 2 }) });
  assert.ok(on18.some((r) => r.setting === 'max_active_replication_origins' && r.side === 'target' && r.severity === 'ok'));
  assert.ok(!on18.some((r) => r.setting === 'max_replication_slots' && r.resource === 'origins' && r.side === 'target'));
  // Reverse replication needs are warnings, never fails.
  const rev = capacityRows({ ...input, target: usage({ settings: { max_wal_senders: 0 } }), source: usage({ major: 12, settings: { max_logical_replication_workers: 0 } }) });
  assert.equal(rev.find((r) => r.side === 'target' && r.setting === 'max_wal_senders')?.severity, 'warn');
  assert.equal(rev.find((r) => r.side === 'source' && r.setting === 'max_logical_replication_workers')?.severity, 'warn');
});

test('capacity: a database already replicating needs nothing more', () => {
  const rows = capacityRows({ pending: 0, reverse: 0, syncWorkers: 2, source: usage({ slots: 10 }), target: usage({}) });
  assert.deepEqual(rows, []);
});

test('missing extensions, finding order, database selection', () => {
  assert.deepEqual(missingExtensions(['plpgsql', 'adminpack', 'hstore'], new Set(['plpgsql', 'hstore'])), ['adminpack']);
  const f = (id: string, database?: string): Finding => ({ id, severity: 'ok', side: 'source', database, title: id, objects: [] });
  assert.deepEqual(orderFindings([f('a', 'b'), f('x'), f('c', 'a'), f('y'), f('d', 'b')], ['a', 'b']).map((x) => x.id), ['x', 'y', 'c', 'a', 'd']);

  const config = { file: 'pgshift.yml', databases: new Map([['app', { name: 'app', exclude: [] }], ['shop', { name: 'shop', exclude: [] }]]) } as unknown as Config;
  assert.deepEqual(selectDatabases(config, []).map((d) => d.name), ['app', 'shop']);
  assert.deepEqual(selectDatabases(config, ['shop', 'shop']).map((d) => d.name), ['shop']);
  assert.throws(() => selectDatabases(config, ['nope']), (e: unknown) => e instanceof ConfigError && /"nope" is not in the config \(configured: app, shop/.test(e.message));
});

test('rendering: grouped by database, long lists cut, fix only for problems, summary', () => {
  assert.equal(formatObjects(['a', 'b', 'c']), 'a, b, c');
  assert.equal(formatObjects(['1', '2', '3', '4', '5', '6', '7', '8']), '1, 2, 3, 4, 5 +3 more');
  const report: CheckReport = {
    ok: false,
    databases: ['app'],
    capacity: [],
    source: { version: '12.22', major: 12, systemIdentifier: '1', role: 'postgres' },
    target: { version: '17.10', major: 17, systemIdentifier: '2', role: 'postgres' },
    findings: [
      { id: 'version', severity: 'ok', side: 'both', title: 'PostgreSQL 12.22 -> 17.10', objects: [], fix: 'not shown' },
      { id: 'wal_level', severity: 'fail', side: 'source', title: 'source wal_level is replica', objects: [], fix: 'set it' },
      { id: 'no-primary-key', severity: 'warn', side: 'source', database: 'app', title: '7 tables', objects: ['t1', 't2', 't3', 't4', 't5', 't6', 't7'], fix: 'nothing' },
    ],
  };
  const err = new PassThrough();
  const out = new Output({ json: false, stderr: err, stdout: new PassThrough() });
  renderCheck(report, out);
  const text = (err.read() as Buffer).toString();
  assert.match(text, /^clusters\n {2}ok {4}both {4}PostgreSQL 12\.22 -> 17\.10\n {2}FAIL {2}source {2}source wal_level is replica\n {16}fix: set it\n\ndatabase app\n {2}warn {2}source {2}7 tables\n {16}t1, t2, t3, t4, t5 \+2 more\n {16}fix: nothing\n/m);
  assert.ok(!text.includes('not shown'));
  assert.equal(summaryLine(report), '1 fail, 1 warn, 1 ok: not ready: fix the FAIL lines and run pgshift check again');
  assert.equal(summaryLine({ ...report, findings: [report.findings[0]!] }), '0 fail, 0 warn, 1 ok: ready');
});
