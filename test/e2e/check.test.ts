// check against real clusters: each problem object is reported with the right
// severity and the planned replica identity, a clean database passes, bad
// input is a clear error with the right exit code, and check creates, alters
// and drops nothing on either cluster.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pair, runCli, versionPairs, HOSTILE_NAMES, qi, type CliResult } from '../helpers/harness.js';
import { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteLiteral } from '../../src/pg/quote.js';
import { namesFor } from '../../src/replication/names.js';
import type { CheckReport, Finding } from '../../src/steps/check.js';

const HOSTILE_PASSWORD = "p' \\@ %w \"x";

function parseReport(r: CliResult): CheckReport {
  assert.ok(r.stdout.trim(), `no JSON on stdout; stderr: ${r.stderr}`);
  return JSON.parse(r.stdout) as CheckReport;
}

function findingsFor(report: CheckReport, id: string, database?: string): Finding[] {
  return report.findings.filter((f) => f.id === id && (database === undefined || f.database === database));
}

function one(report: CheckReport, id: string, database?: string): Finding {
  const fs = findingsFor(report, id, database);
  assert.equal(fs.length, 1, `expected one "${id}" finding${database ? ` for ${database}` : ''}, got ${JSON.stringify(report.findings, null, 1)}`);
  return fs[0]!;
}

/**
 * Everything check could conceivably create or change, on one cluster:
 * databases, slots, subscriptions, roles, and per database publications,
 * schemas and every table's replica identity.
 */
async function snapshot(c: EmbeddedCluster): Promise<string> {
  const lines: string[] = [];
  const cluster = async (q: string): Promise<void> => {
    lines.push(q, ...(await c.sql<{ v: string }>(q)).map((r) => r.v));
  };
  await cluster('SELECT datname::text AS v FROM pg_database ORDER BY 1');
  await cluster('SELECT slot_name::text AS v FROM pg_replication_slots ORDER BY 1');
  await cluster('SELECT subname::text AS v FROM pg_subscription ORDER BY 1');
  await cluster('SELECT rolname::text || rolsuper::text || rolreplication::text AS v FROM pg_roles ORDER BY 1');
  const dbs = await c.sql<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datallowconn ORDER BY 1');
  for (const { d } of dbs) {
    for (const q of [
      'SELECT pubname::text AS v FROM pg_publication ORDER BY 1',
      'SELECT nspname::text AS v FROM pg_namespace ORDER BY 1',
      "SELECT oid::regclass::text || ':' || relreplident::text AS v FROM pg_class WHERE relkind IN ('r', 'p') ORDER BY 1",
      'SELECT count(*)::text AS v FROM pg_largeobject_metadata',
    ]) {
      lines.push(`${d}: ${q}`, ...(await c.sql<{ v: string }>(q, [], d)).map((r) => r.v));
    }
  }
  return lines.join('\n');
}

async function snapshots(p: Pair): Promise<[string, string]> {
  return [await snapshot(p.source), await snapshot(p.target)];
}

const PAIRS = versionPairs([[12, 17], [14, 18]]);

PAIRS.forEach(([from, to], pairIndex) => {
  describe(`check ${from} -> ${to}`, () => {
    let pair: Pair;
    before(async () => {
      pair = await Pair.start(from, to);
    });
    after(async () => {
      await pair?.stop();
    });

    test('reports every problem object with the planned replica identity, and changes nothing', async () => {
      const db = await pair.freshDatabase('problems');
      const s = HOSTILE_NAMES[2]!; // it's; DROP TABLE x;--
      const tUse = HOSTILE_NAMES[1]!; // with "double" quotes
      const tFull = HOSTILE_NAMES[6]!; // unicode
      const tJson = HOSTILE_NAMES[3]!; // a";DROP TABLE x;--
      await pair.source.sql(`
        CREATE SCHEMA ${qi(s)};
        CREATE TABLE ${qi(s)}.${qi(tUse)} (a int NOT NULL, b text NOT NULL, c text);
        CREATE UNIQUE INDEX ${qi('wide ' + tUse)} ON ${qi(s)}.${qi(tUse)} (a, b);
        CREATE UNIQUE INDEX ${qi('narrow ' + tUse)} ON ${qi(s)}.${qi(tUse)} (b);
        CREATE UNIQUE INDEX ${qi('nullable ' + tUse)} ON ${qi(s)}.${qi(tUse)} (c);
        CREATE TABLE ${qi(s)}.${qi(tFull)} (a int, b text);
        INSERT INTO ${qi(s)}.${qi(tFull)} VALUES (1, 'x'), (1, 'x');
        CREATE TABLE ${qi(s)}.${qi(tJson)} (id int, "dat""a" json, p point);
        CREATE TABLE has_pk (id int PRIMARY KEY, j json);
        CREATE UNLOGGED TABLE ${qi('unlogged ' + HOSTILE_NAMES[0])} (id int PRIMARY KEY);
        CREATE MATERIALIZED VIEW ${qi(s)}.${qi('mv ' + HOSTILE_NAMES[4])} AS SELECT 1 AS x;
        CREATE TABLE parted (id int NOT NULL, v text) PARTITION BY RANGE (id);
        CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100);
        SELECT lo_from_bytea(0, 'hello'), lo_from_bytea(0, 'world');
        CREATE TABLE docs (id int PRIMARY KEY, blob oid);
        CREATE EXTENSION adminpack;
      `, [], db);
      // Enough PK-less tables that the human list is cut short.
      for (let i = 0; i < 7; i++) await pair.source.sql(`CREATE TABLE ${qi(`nopk ${i}`)} (x int)`, [], db);
      const cfg = await pair.writeConfig([db]);
      const before = await snapshots(pair);

      const r = await runCli(['-c', cfg, '--json', 'check'], { env: pair.env() });
      // adminpack is gone from PostgreSQL 17: the one blocking finding.
      assert.equal(r.code, 1, r.stderr);
      const report = parseReport(r);
      assert.equal(report.ok, false);
      assert.equal(report.source.major, from);
      assert.equal(report.target.major, to);
      assert.deepEqual(report.findings.filter((f) => f.severity === 'fail').map((f) => f.id), ['extensions']);
      assert.deepEqual(one(report, 'extensions', db).objects.map((o) => o.split(' ')[0]), ['adminpack']);

      const noPk = one(report, 'no-primary-key', db);
      assert.equal(noPk.severity, 'warn');
      assert.ok(noPk.objects.includes(`${s}.${tUse}: USING INDEX ${'narrow ' + tUse}`), noPk.objects.join('\n'));
      assert.ok(noPk.objects.includes(`${s}.${tFull}: FULL`), noPk.objects.join('\n'));
      // A partitioned table is planned per leaf partition.
      assert.ok(noPk.objects.includes('public.parted_1: FULL'), noPk.objects.join('\n'));
      assert.ok(!noPk.objects.some((o) => o.startsWith('public.has_pk')));
      assert.ok(!noPk.objects.some((o) => o.includes('unlogged')), 'unlogged tables are not replicated, so need no identity');

      const cannot = one(report, 'replica-identity-impossible', db);
      assert.equal(cannot.severity, 'warn');
      assert.deepEqual(cannot.objects, [`${s}.${tJson}: columns dat"a (json), p (point)`]);

      // Only what start publishes is "to replicate"; the rest is counted apart (issue 11).
      assert.match(one(report, 'tables', db).title, /^12 tables to replicate \(.*\); 2 more not replicated: pgshift switchover copies them while writes are paused/);
      const lo = one(report, 'large-objects', db);
      assert.match(lo.title, /^2 large objects: .*1 column of type oid or lo can refer to them/);
      assert.deepEqual(lo.objects, ['public.docs.blob (oid)']);
      const unlogged = one(report, 'unlogged-tables', db);
      assert.deepEqual(unlogged.objects, [`public.unlogged ${HOSTILE_NAMES[0]}`]);
      assert.match(unlogged.title, /pgshift switchover copies it while writes are paused/);
      assert.doesNotMatch(`${unlogged.title} ${unlogged.fix}`, /created empty|yourself/);
      assert.deepEqual(one(report, 'materialized-views', db).objects, [`${s}.mv ${HOSTILE_NAMES[4]}`]);
      if (from < 13) assert.deepEqual(one(report, 'partitioned-tables', db).objects, ['public.parted']);
      else assert.equal(findingsFor(report, 'partitioned-tables').length, 0);
      assert.deepEqual(findingsFor(report, 'wal_level').map((f) => `${f.side} ${f.severity}`), ['source ok', 'target ok']);
      assert.equal(one(report, 'target-database', db).severity, 'ok');

      // The human report: grouped by database, long lists cut, fixes shown.
      const h = await runCli(['-c', cfg, 'check', db], { env: pair.env() });
      assert.equal(h.code, 1, h.stderr);
      assert.equal(h.stdout, '');
      assert.match(h.stderr, new RegExp(`^database ${db}$`, 'm'));
      assert.match(h.stderr, /^ {2}FAIL {2}target {2}1 extension installed on the source is not available on the target$/m);
      assert.match(h.stderr, /tables without a primary key[^\n]*\n[^\n]* \+\d+ more\n\s+fix: /);
      assert.match(h.stderr, /^1 fail, \d+ warn, \d+ ok: not ready/m);

      assert.deepEqual(await snapshots(pair), before, 'check changed something');
    });

    test('replica identity plans apply on the source and then plan as keep', async () => {
      const db = await pair.freshDatabase('ri');
      const s = HOSTILE_NAMES[4]!; // dot.ted
      await pair.source.sql(`
        CREATE SCHEMA ${qi(s)};
        CREATE TABLE ${qi(s)}.${qi('uniq')} (a int NOT NULL, b int NOT NULL, c int);
        CREATE UNIQUE INDEX ${qi('u ' + HOSTILE_NAMES[3])} ON ${qi(s)}.${qi('uniq')} (a);
        CREATE UNIQUE INDEX partial_u ON ${qi(s)}.${qi('uniq')} (b) WHERE b > 0;
        CREATE TABLE dup (a int, b text[], r int4range);
        CREATE TYPE pair_xml AS (x int, y xml);
        CREATE DOMAIN json_d AS json;
        CREATE TABLE comp (p pair_xml);
        CREATE TABLE dom (d json_d[]);
        CREATE TABLE nothing (id int PRIMARY KEY);
        ALTER TABLE nothing REPLICA IDENTITY NOTHING;
        CREATE TABLE parted (id int) PARTITION BY LIST (id);
        CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN (1);
      `, [], db);
      const { connect } = await import('../../src/pg/connect.js');
      const { listTables } = await import('../../src/pg/catalog.js');
      const { planReplicaIdentities, applyReplicaIdentity } = await import('../../src/replication/replica-identity.js');
      const { IdentityChanges, restoreReplicaIdentities } = await import('../../src/replication/identity-record.js');
      const { loadConfig } = await import('../../src/config/config.js');
      const conn = await connect('source', await pair.source.endpoint(), { database: db });
      try {
        const roots = (await listTables(conn)).filter((t) => !t.isPartition);
        const plans = await planReplicaIdentities(conn, roots);
        const byName = Object.fromEntries(plans.map((p) => [p.table.name, `${p.action}${p.index ? ` ${p.index}` : ''}`]));
        assert.deepEqual(byName, {
          uniq: `use-index u ${HOSTILE_NAMES[3]}`,
          dup: 'full',
          comp: 'cannot',
          dom: 'cannot',
          nothing: 'use-index nothing_pkey',
          parted_a: 'full',
        });
        const config = loadConfig(await pair.writeConfig([db]), pair.env());
        const changes = new IdentityChanges(config, 'source', conn);
        for (const p of plans) await applyReplicaIdentity(changes, p);
        await changes.close();
        const again = await planReplicaIdentities(conn, roots);
        assert.deepEqual(again.filter((p) => p.action !== 'keep').map((p) => p.table.name).sort(), ['comp', 'dom']);
        const ident = async () => (await pair.source.sql<{ n: string; r: string }>(
          "SELECT relname AS n, relreplident::text AS r FROM pg_class WHERE relname IN ('uniq', 'dup', 'parted_a', 'nothing') ORDER BY 1", [], db)).map((x) => `${x.n}:${x.r}`);
        assert.deepEqual(await ident(), ['dup:f', 'nothing:i', 'parted_a:f', 'uniq:i']);
        // Each change was recorded in the maintenance database, and restoring puts the originals back.
        const admin = await connect('source', await pair.source.endpoint(), { database: 'postgres' });
        try {
          const r = await restoreReplicaIdentities(admin, conn);
          assert.deepEqual(r.restored.map((x) => `${x.table}: ${x.from} -> ${x.to}`).sort(), [
            `${s}.uniq: USING INDEX u ${HOSTILE_NAMES[3]} -> DEFAULT`, 'public.dup: FULL -> DEFAULT', 'public.nothing: USING INDEX nothing_pkey -> NOTHING', 'public.parted_a: FULL -> DEFAULT',
          ].sort());
          assert.deepEqual(await ident(), ['dup:d', 'nothing:n', 'parted_a:d', 'uniq:d']);
          assert.deepEqual(await pair.source.sql("SELECT 1 FROM pg_namespace WHERE nspname = 'pgshift'"), [], 'the record is gone once restored');
        } finally {
          await admin.close();
        }
      } finally {
        await conn.close();
      }
    });

    test('a clean database passes with exit 0', async () => {
      const db = await pair.freshDatabase(HOSTILE_NAMES[0]!);
      await pair.source.sql(`
        CREATE SCHEMA ${qi(HOSTILE_NAMES[5]!)};
        CREATE TABLE ${qi(HOSTILE_NAMES[5]!)}.${qi(HOSTILE_NAMES[7]!)} (id bigint PRIMARY KEY, doc jsonb, at timestamptz);
        CREATE TABLE plain (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
        CREATE TABLE keyed (a int NOT NULL, b int NOT NULL);
        CREATE UNIQUE INDEX keyed_ab ON keyed (a, b);
        ALTER TABLE keyed REPLICA IDENTITY USING INDEX keyed_ab;
      `, [], db);
      const cfg = await pair.writeConfig([db]);
      const r = await runCli(['-c', cfg, 'check', '--json'], { env: pair.env() });
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const report = parseReport(r);
      assert.equal(report.ok, true);
      const mine = report.findings.filter((f) => f.database === db);
      assert.deepEqual(mine.filter((f) => f.severity !== 'ok'), []);
      assert.match(one(report, 'tables', db).title, /^3 tables to replicate \(3 of 3 tables and partitions with a usable replica identity already\)$/);
      const slots = findingsFor(report, 'capacity.source.max_replication_slots')[0]!;
      assert.equal(slots.severity, 'ok');
      const h = await runCli(['-c', cfg, 'check'], { env: pair.env() });
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stderr, /^0 fail, \d+ warn, \d+ ok: ready/m);
    });

    test('target database: data is a fail, empty tables a warning, pgshift\'s own replication ok', async () => {
      const db = await pair.freshDatabase('tgt', { onTarget: true });
      await pair.source.sql('CREATE TABLE t (id int PRIMARY KEY)', [], db);
      await pair.target.sql('CREATE TABLE t (id int PRIMARY KEY)', [], db);
      const cfg = await pair.writeConfig([db]);
      const empty = parseReport(await runCli(['-c', cfg, '--json', 'check'], { env: pair.env() }));
      assert.equal(one(empty, 'target-database', db).severity, 'warn');
      assert.match(one(empty, 'target-database', db).fix ?? '', /--existing/);

      await pair.target.sql('INSERT INTO t VALUES (1)', [], db);
      const full = await runCli(['-c', cfg, '--json', 'check'], { env: pair.env() });
      assert.equal(full.code, 1, full.stderr);
      const f = one(parseReport(full), 'target-database', db);
      assert.equal(f.severity, 'fail');
      assert.deepEqual(f.objects, ['public.t']);

      // The subscription pgshift would have made: then the target is ours, replicating.
      const sub = namesFor(db).subscription;
      const conn = quoteLiteral(formatConninfo({ ...pair.source.params(db), password: pair.source.password }));
      await pair.target.sql(`CREATE SUBSCRIPTION ${qi(sub)} CONNECTION ${conn} PUBLICATION nothing WITH (connect = false)`, [], db);
      try {
        const ours = await runCli(['-c', cfg, '--json', 'check'], { env: pair.env() });
        assert.equal(ours.code, 0, ours.stderr + ours.stdout);
        const t = one(parseReport(ours), 'target-database', db);
        assert.equal(t.severity, 'ok');
        assert.match(t.title, /pgshift is replicating into/);
      } finally {
        await pair.target.sql(`ALTER SUBSCRIPTION ${qi(sub)} SET (slot_name = NONE)`, [], db);
        await pair.target.sql(`DROP SUBSCRIPTION ${qi(sub)}`, [], db);
      }
    });

    test('leftover pgshift slots and inactive slots holding WAL are warnings naming cleanup', async () => {
      const db = await pair.freshDatabase('slots');
      await pair.source.sql('CREATE TABLE t (id int PRIMARY KEY)', [], db);
      const slot = namesFor(db).slot;
      await pair.source.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot], db);
      await pair.source.sql("SELECT pg_create_logical_replication_slot('someone_elses', 'pgoutput')", [], db);
      try {
        // Give the slots some WAL to hold back.
        await pair.source.sql('INSERT INTO t SELECT generate_series(1, 2000)', [], db);
        const cfg = await pair.writeConfig([db]);
        const r = await runCli(['-c', cfg, '--json', 'check'], { env: pair.env() });
        assert.equal(r.code, 0, r.stderr + r.stdout);
        const report = parseReport(r);
        const ours = one(report, 'slots.pgshift', db);
        assert.equal(ours.severity, 'warn');
        assert.equal(ours.side, 'source');
        assert.match(ours.objects[0]!, new RegExp(`^${slot} \\(logical, database ${db}, inactive, retains .* of WAL\\)$`));
        assert.match(ours.fix ?? '', new RegExp(`pgshift cleanup ${db}`));
        const others = one(report, 'slots.inactive');
        assert.ok(others.objects.some((o) => o.startsWith('someone_elses (')), others.objects.join());
        // Slots in use count against the limit.
        const cap = findingsFor(report, 'capacity.source.max_replication_slots')[0]!;
        assert.match(cap.title, /= 20: 2 in use \+/);
      } finally {
        await pair.source.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ($1, $2)', [slot, 'someone_elses']);
      }
    });

    // Failure paths do not depend on the versions: once is enough.
    if (pairIndex === 0) {
      test('wal_level=replica on the source is a fail', async () => {
        // A separate small cluster: wal_level needs a restart and other tests need logical.
        const replica = await EmbeddedCluster.start({ major: from, settings: { wal_level: 'replica' } });
        try {
          const cfg = await configFor(pair.dir, 'replica.yml', replica, pair.target, 'postgres', 'postgres');
          const r = await runCli(['-c', cfg, '--json', 'check'], { env: { PGSHIFT_SOURCE_PASSWORD: replica.password, PGSHIFT_TARGET_PASSWORD: pair.target.password } });
          assert.equal(r.code, 1, r.stderr);
          const wal = findingsFor(parseReport(r), 'wal_level').find((f) => f.side === 'source')!;
          assert.equal(wal.severity, 'fail');
          assert.match(wal.title, /source wal_level is replica/);
          assert.match(wal.fix ?? '', /wal_level = logical.*restart/);
        } finally {
          await replica.destroy();
        }
      });

      test('bad input: clear errors, right exit codes, nothing created on either cluster', async () => {
        const db = await pair.freshDatabase('bad');
        await pair.source.sql('CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE nopk (x int)', [], db);
        const role = `check plain ${process.pid}`;
        for (const c of [pair.source, pair.target]) {
          await c.sql(`CREATE ROLE ${qi(role)} LOGIN PASSWORD ${quoteLiteral(HOSTILE_PASSWORD)}`);
        }
        try {
          const before = await snapshots(pair);
          const good = await pair.writeConfig([db]);
          const env = pair.env();
          const dir = pair.dir;

          const malformed = join(dir, 'malformed.yml');
          writeFileSync(malformed, 'source:\n  conn: "host=x\n  system_identifier: [1, 2\ntarget: {\n');
          const m = await runCli(['-c', malformed, 'check'], { env });
          assert.equal(m.code, 2, m.stderr);
          assert.match(m.stderr, /malformed\.yml.*line \d+/);

          const missing = join(dir, 'missing.yml');
          writeFileSync(missing, (await import('node:fs')).readFileSync(good, 'utf8').replace(/^target:[\s\S]*?(?=^databases:)/m, ''));
          const mk = await runCli(['-c', missing, 'check'], { env });
          assert.equal(mk.code, 2, mk.stderr);
          assert.match(mk.stderr, /missing\.yml: target.*required/);

          const notConfigured = await runCli(['-c', good, 'check', 'not_in_config'], { env });
          assert.equal(notConfigured.code, 2, notConfigured.stderr);
          assert.match(notConfigured.stderr, /database "not_in_config" is not in the config/);

          const absent = await pair.writeConfig([db, 'absent_db']);
          const ab = await runCli(['-c', absent, '--json', 'check'], { env });
          assert.equal(ab.code, 1, ab.stderr);
          const abf = one(parseReport(ab), 'database-exists', 'absent_db');
          assert.equal(abf.severity, 'fail');

          const wrongId = join(dir, 'wrong-id.yml');
          const sysid = await pair.target.systemIdentifier();
          writeFileSync(wrongId, (await import('node:fs')).readFileSync(good, 'utf8').replace(`"${sysid}"`, '"1234567890123"'));
          const w = await runCli(['-c', wrongId, 'check'], { env });
          assert.equal(w.code, 3, w.stderr);
          assert.match(w.stderr, new RegExp(`target .* is not the configured cluster: expected system_identifier 1234567890123, found ${sysid}`));

          const wrongPw = "wr'ong \\@% pw";
          const p = await runCli(['-c', good, 'check'], { env: { ...env, PGSHIFT_SOURCE_PASSWORD: wrongPw } });
          assert.equal(p.code, 4, p.stderr); // cannot connect
          assert.match(p.stderr, /source .*password authentication failed/);
          assert.match(p.stderr, /hint: /);
          assert.ok(!p.stderr.includes(wrongPw) && !p.stdout.includes(wrongPw), 'password printed');

          const down = join(dir, 'down.yml');
          writeFileSync(down, (await import('node:fs')).readFileSync(good, 'utf8').replace(/port='?\d+'?/, "port='1'"));
          const u = await runCli(['-c', down, 'check'], { env });
          assert.equal(u.code, 4, u.stderr); // cannot connect
          assert.match(u.stderr, /source .*cannot connect/);
          assert.match(u.stderr, /hint: Check host and port/);

          // A role with LOGIN and nothing else, on both sides.
          const plain = await configFor(dir, 'plain.yml', pair.source, pair.target, db, role);
          const pr = await runCli(['-c', plain, '--json', 'check'], { env: { PGSHIFT_SOURCE_PASSWORD: HOSTILE_PASSWORD, PGSHIFT_TARGET_PASSWORD: HOSTILE_PASSWORD } });
          assert.equal(pr.code, 1, pr.stderr);
          assert.ok(!pr.stderr.includes(HOSTILE_PASSWORD) && !pr.stdout.includes(HOSTILE_PASSWORD), 'password printed');
          const rep = parseReport(pr);
          const priv = findingsFor(rep, 'privileges');
          assert.equal(priv.find((f) => f.side === 'source')?.severity, 'fail');
          assert.match(priv.find((f) => f.side === 'source')!.title, /no REPLICATION attribute/);
          assert.equal(priv.find((f) => f.side === 'target')?.severity, 'fail');
          assert.match(priv.find((f) => f.side === 'target')!.title, /cannot create subscriptions/);
          const dbPriv = one(rep, 'privileges.database', db);
          assert.deepEqual(dbPriv.objects, ['public.nopk', 'public.t']);

          assert.deepEqual(await snapshots(pair), before, 'check created or changed something');
        } finally {
          for (const c of [pair.source, pair.target]) await c.sql(`DROP ROLE ${qi(role)}`);
        }
      });
    }
  });
});

/** A config for any two clusters, connecting as `user`; passwords from the environment. */
async function configFor(dir: string, file: string, source: EmbeddedCluster, target: EmbeddedCluster, database: string, user: string): Promise<string> {
  const text = `source:
  conn: ${JSON.stringify(formatConninfo(source.params('postgres', user)))}
  password: \${PGSHIFT_SOURCE_PASSWORD}
  system_identifier: "${await source.systemIdentifier()}"
target:
  conn: ${JSON.stringify(formatConninfo(target.params('postgres', user)))}
  password: \${PGSHIFT_TARGET_PASSWORD}
  system_identifier: "${await target.systemIdentifier()}"
databases:
  ${JSON.stringify(database)}: {}
`;
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}
