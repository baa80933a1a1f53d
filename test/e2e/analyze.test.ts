// A target ready to serve, and one pgshift at a time (13 -> 16 by default):
//   - `pgshift analyze DB` gives every replicated table on the target planner
//     statistics (pg_stats rows for plain tables, partitions and the
//     partitioned root), and the switchover preflight's warning naming the
//     tables never analyzed there disappears once it ran;
//   - the long-transaction guard: a transaction on the side whose writes
//     pause, open longer than max_pause, refuses switchover (and rollback)
//     with exit 3 naming it, leaving both clusters as they were; once it
//     ends the switchover proceeds; --force goes ahead despite one;
//   - the per-database lock: while a `run` holds it, a switchover or
//     cleanup of that database is refused with exit 3 naming the holder,
//     a read-only status and another database's analyze --vacuum are not; after the
//     run ends (it analyzed the target as its last step) the same cleanup works.
// Autovacuum is off on both clusters so that nothing but pgshift analyzes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import pg from 'pg';
import { Pair, isStopped, runCli, startCli, waitFor, versionPairs } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { startAndWait } from '../helpers/switchover-fixture.js';
import { namesFor } from '../../src/replication/names.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const [[FROM, TO]] = versionPairs([[13, 16]]) as [[number, number]];
const APP_PASSWORD = 'app pw';
let pair: Pair;
let db: string;
let cfgPath: string;

const ODD = 'Odd "name"; x';
const SCHEMA = [
  'CREATE TABLE items (id int PRIMARY KEY, v text)',
  'CREATE TABLE measurements (id int, at date, v int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)',
  "CREATE TABLE measurements_2024 PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
  "CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
  `CREATE TABLE "${ODD.replace(/"/g, '""')}" (id int PRIMARY KEY, v text)`,
  'GRANT ALL ON ALL TABLES IN SCHEMA public TO app',
];
const TABLES = ['items', 'measurements_2024', 'measurements_2025', ODD];

before(async () => {
  pair = await Pair.start(FROM, TO, { settings: { autovacuum: 'off' } });
  for (const c of [pair.source, pair.target]) await c.sql(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD}'`);
  db = await pair.freshDatabase('an');
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) for (const s of SCHEMA) await c.sql(s, [], db);
  await pair.source.sql("INSERT INTO items SELECT g, 'v' || (g % 17) FROM generate_series(1, 3000) g", [], db);
  await pair.source.sql("INSERT INTO measurements SELECT g, DATE '2024-01-01' + (g % 700), g % 100 FROM generate_series(1, 3000) g", [], db);
  await pair.source.sql(`INSERT INTO "${ODD.replace(/"/g, '""')}" SELECT g, 'x' FROM generate_series(1, 500) g`, [], db);
  cfgPath = await pair.writeConfig([db, 'locked_db'], 'switchover:\n  pause: revoke\n  max_pause: 2s\n');
  await startAndWait(loadConfig(cfgPath, pair.env()), db, pair.target);
});
after(async () => {
  await pair?.stop();
});

/** pg_stats rows per table on a cluster (inherited ones for the partitioned root under "measurements*"). */
async function statsRows(c: EmbeddedCluster, database: string): Promise<Record<string, number>> {
  const rows = await c.sql<{ t: string; n: number }>(
    "SELECT CASE WHEN inherited THEN tablename || '*' ELSE tablename END AS t, count(*)::int AS n FROM pg_stats WHERE schemaname = 'public' GROUP BY 1",
    [], database);
  return Object.fromEntries(rows.map((r) => [r.t, r.n]));
}

/** A session of role "app" holding a transaction open on that cluster, and how long it has been open there. */
async function openTransaction(c: EmbeddedCluster, application: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ host: c.host, port: c.port, user: 'app', password: APP_PASSWORD, database: db, application_name: application });
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query('SELECT count(*) FROM items');
  const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
  // Older than max_pause (2s) as the server sees it.
  await waitFor(async () => {
    const [r] = await c.sql<{ old: boolean }>("SELECT clock_timestamp() - xact_start > interval '2.2 s' AS old FROM pg_stat_activity WHERE pid = $1", [pid]);
    return r?.old === true;
  }, { timeoutMs: 30_000, intervalMs: 200, what: 'the transaction to be older than max_pause' });
  return { client, pid };
}

async function fenceRows(c: EmbeddedCluster): Promise<number> {
  const [r] = await c.sql<{ t: string | null }>("SELECT to_regclass('pgshift.switchover_fence')::text AS t");
  if (!r!.t) return 0;
  const [n] = await c.sql<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.switchover_fence WHERE database = $1', [db]);
  return n!.n;
}

/** Writes on `writer` arrive on `reader`: replication from it runs and the writer takes writes. */
async function writeArrives(writer: EmbeddedCluster, reader: EmbeddedCluster, id: number): Promise<void> {
  await writer.sql("INSERT INTO items VALUES ($1, 'probe')", [id], db);
  await waitFor(async () => (await reader.sql('SELECT 1 FROM items WHERE id = $1', [id], db)).length === 1,
    { timeoutMs: 60_000, what: `row ${id} to replicate` });
}

test('analyze: a database not in the config is a clear usage error, nothing touched', async () => {
  const r = await runCli(['-c', cfgPath, 'analyze', 'no_such_db'], { env: pair.env() });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /database "no_such_db" is not in the config/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
});

test('long transaction refuses the switchover (exit 3, nothing changed); analyze fills pg_stats and clears the warning; then switchover, and rollback refused then forced', async () => {
  // --- before analyze: no statistics on the target, the source transaction blocks the pause ---
  assert.deepEqual(await statsRows(pair.target, db), {});
  const report = await openTransaction(pair.source, 'nightly report');
  const refused = await runCli(['-c', cfgPath, '--yes', 'switchover', db], { env: pair.env(), timeoutMs: 120_000 });
  assert.equal(refused.code, 3, refused.stderr);
  assert.match(refused.stderr, new RegExp(`pid ${report.pid} \\(user app, application "nightly report"`));
  assert.match(refused.stderr, new RegExp(`pg_terminate_backend\\(${report.pid}\\)`));
  assert.match(refused.stderr, /--force/);
  assert.match(refused.stderr, /never analyzed on the target/);
  for (const t of ['public.items', 'public.measurements_2024', 'public.measurements', `public.${ODD}`]) assert.ok(refused.stderr.includes(t), `${t} named in: ${refused.stderr}`);
  // Both clusters as they were: no fence, the subscription enabled, writes on the source replicate.
  assert.equal(await fenceRows(pair.source), 0);
  const [sub] = await pair.target.sql<{ subenabled: boolean }>('SELECT subenabled FROM pg_subscription WHERE subname = $1', [namesFor(db).subscription]);
  assert.equal(sub!.subenabled, true);
  await writeArrives(pair.source, pair.target, 100_001);
  // The refused run did not end the transaction either.
  assert.equal((await report.client.query('SELECT 1 AS x')).rows.length, 1);
  await report.client.query('COMMIT');
  await report.client.end();

  // --- analyze ---
  const a = await runCli(['-c', cfgPath, '--json', 'analyze', db, '--jobs', '2'], { env: pair.env(), timeoutMs: 120_000 });
  assert.equal(a.code, 0, a.stderr);
  const result = JSON.parse(a.stdout) as { ok: boolean; tables: number; jobs: number; analyzed: { table: string }[] };
  assert.equal(result.tables, 5);
  assert.equal(result.jobs, 2);
  assert.match(a.stderr, /"event":"progress"/);
  const stats = await statsRows(pair.target, db);
  for (const t of [...TABLES, 'measurements*']) assert.ok((stats[t] ?? 0) > 0, `pg_stats rows for ${t} on the target: ${JSON.stringify(stats)}`);

  // --- no long transaction, every table analyzed: the switchover proceeds without either warning ---
  const sw = await runCli(['-c', cfgPath, '--yes', 'switchover', db], { env: pair.env(), timeoutMs: 180_000 });
  assert.equal(sw.code, 0, sw.stderr);
  assert.doesNotMatch(sw.stderr, /never analyzed/);
  assert.doesNotMatch(sw.stderr, /open for more than/);
  await writeArrives(pair.target, pair.source, 100_002);

  // --- rollback pauses the target's writes: a transaction there refuses it, --force goes ahead ---
  const held = await openTransaction(pair.target, 'long export');
  const rb = await runCli(['-c', cfgPath, '--yes', 'rollback', db], { env: pair.env(), timeoutMs: 120_000 });
  assert.equal(rb.code, 3, rb.stderr);
  assert.match(rb.stderr, new RegExp(`transaction\\(s\\) on the target have been open longer than max_pause.*pid ${held.pid} \\(user app, application "long export"`));
  assert.equal(await fenceRows(pair.target), 0);
  await writeArrives(pair.target, pair.source, 100_003);
  const forced = await runCli(['-c', cfgPath, '--yes', 'rollback', db, '--force'], { env: pair.env(), timeoutMs: 180_000 });
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stderr, new RegExp(`--force: going ahead.*pid ${held.pid}`));
  // Writes are back on the source, and every row written on either side is there.
  await pair.source.sql("INSERT INTO items VALUES (100004, 'after rollback')", [], db);
  const [n] = await pair.source.sql<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id > 100000', [], db);
  assert.equal(n!.n, 4);
  await held.client.end().catch(() => undefined);
});

test('lock: while a run holds a database, switchover and cleanup of it are refused naming the holder; read-only status and another database are not held', async () => {
  const other = 'locked_db';
  await pair.source.createDatabase(other);
  await pair.source.sql('CREATE TABLE t (id int PRIMARY KEY, v text)', [], other);
  await pair.source.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 200) g", [], other);
  const run = startCli(['-c', cfgPath, '--yes', 'run', other], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:check' }, timeoutMs: 300_000 });
  try {
    await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 120_000, what: 'run to stop after its check step' });
    for (const cmd of [['switchover', other], ['cleanup', other]]) {
      const r = await runCli(['-c', cfgPath, '--yes', ...cmd], { env: pair.env(), timeoutMs: 60_000 });
      assert.equal(r.code, 3, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`another pgshift is changing database "${other}": "pgshift run" \\(pid ${run.child.pid} on host ${hostname().slice(0, 20).replace(/[.]/g, '\\.')}`));
      assert.match(r.stderr, /since \d{4}-\d\d-\d\dT/);
    }
    // Read-only commands take no lock; another database is not held.
    const st = await runCli(['-c', cfgPath, 'status', other], { env: pair.env(), timeoutMs: 60_000 });
    assert.notEqual(st.code, 3, st.stderr);
    assert.doesNotMatch(st.stderr, /another pgshift/);
    const an = await runCli(['-c', cfgPath, 'analyze', db, '--vacuum'], { env: pair.env(), timeoutMs: 60_000 });
    assert.equal(an.code, 0, an.stderr);
    const [v] = await pair.target.sql<{ vacuumed: boolean }>("SELECT pg_stat_get_last_vacuum_time('items'::regclass) IS NOT NULL AS vacuumed", [], db);
    assert.equal(v!.vacuumed, true, 'analyze --vacuum vacuumed the target table');
  } finally {
    run.child.kill('SIGCONT');
  }
  const done = await run.done;
  assert.equal(done.code, 0, done.stderr);
  // run's last step analyzed the target once the copy was done.
  assert.match(done.stderr, /analyze: done/);
  assert.ok(((await statsRows(pair.target, other)).t ?? 0) > 0, 'pg_stats rows for t on the target after run');
  const cleaned = await runCli(['-c', cfgPath, '--yes', 'cleanup', other], { env: pair.env(), timeoutMs: 120_000 });
  assert.equal(cleaned.code, 0, cleaned.stderr);
});
