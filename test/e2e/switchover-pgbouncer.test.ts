// Switchover through PgBouncer under continuous pgbench write load (14 -> 17):
// clients see a short delay and no error, every transaction pgbench counted
// is on the target, traffic flows to the target afterwards; and the budget
// abort gives the source its writes back with replication intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, isStopped, runCli, startCli, waitFor, versionPairs } from '../helpers/harness.js';
import { EmbeddedPgBouncer } from '../../src/embedded/pgbouncer.js';
import { loadConfig } from '../../src/config/config.js';
import { bouncerYaml, parsePgbench, pgbench, pgbenchDatabase, startAndWait, writeScript } from '../helpers/switchover-fixture.js';
import { namesFor } from '../../src/replication/names.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
let bouncer: EmbeddedPgBouncer | undefined;

before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await bouncer?.stop();
  await pair?.stop();
});

async function setup(prefix: string): Promise<{ db: string; cfgPath: string; bouncer: EmbeddedPgBouncer }> {
  const db = await pair.freshDatabase(prefix);
  await pgbenchDatabase(pair, db);
  await bouncer?.stop();
  bouncer = await EmbeddedPgBouncer.start({
    databases: { [db]: { host: pair.source.host, port: pair.source.port, dbname: db } },
    users: { postgres: pair.source.password },
  });
  const cfgPath = await pair.writeConfig([db], bouncerYaml(bouncer.port, bouncer.adminPassword, bouncer.configFile));
  await startAndWait(loadConfig(cfgPath, pair.env()), db, pair.target);
  return { db, cfgPath, bouncer };
}

test(`pgbouncer switchover ${FROM}->${TO} under pgbench: zero failed transactions, every committed one on the target`, async () => {
  const { db, cfgPath, bouncer: b } = await setup('pgb');
  const script = writeScript(pair.dir);
  const bench = pgbench(['-n', '-M', 'simple', '-c', '8', '-j', '2', '-T', '14', '-f', script], { host: '127.0.0.1', port: b.port, user: 'postgres', dbname: db }, pair.source.password);
  // Switch over once the load is clearly running.
  await waitFor(async () => (await pair.source.sql<{ n: number }>('SELECT count(*)::int AS n FROM ledger', [], db))[0]!.n > 200, { timeoutMs: 30_000, what: 'load to start' });
  const r = await runCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  console.log(r.stdout);
  const doc = JSON.parse(r.stdout) as { outcome: string; pauseMs: number; timeline: { phases: { phase: string }[] } };
  assert.equal(doc.outcome, 'done');
  assert.ok(doc.pauseMs > 0);
  for (const p of ['pause', 'fence', 'catch-up', 'sequences', 'commit', 'reverse', 'resume']) {
    assert.ok(doc.timeline.phases.some((x) => x.phase === p), `phase ${p} in the timeline`);
  }
  const res = await bench;
  const out = res.stdout + res.stderr;
  const summary = parsePgbench(out);
  assert.equal(res.code, 0, out);
  assert.equal(summary.failed, 0, out);
  assert.ok(!/client \d+ aborted/.test(out), out);
  assert.ok(summary.processed > 0, out);

  // Every transaction pgbench counted as committed is on the target, exactly once.
  const [t] = await pair.target.sql<{ n: number; on_target: number }>(
    'SELECT count(*)::int AS n, count(*) FILTER (WHERE server_port = $1)::int AS on_target FROM ledger', [pair.target.port], db);
  assert.equal(t!.n, summary.processed, 'ledger rows on the target = transactions pgbench processed');
  assert.ok(t!.on_target > 0, 'transactions ran on the target after the switchover');
  // PgBouncer now points at the target; the forward subscription is gone, reverse replication runs.
  assert.match(b.log() + (await import('node:fs')).readFileSync(b.configFile, 'utf8'), new RegExp(`port=${pair.target.port}`));
  const names = namesFor(db);
  assert.equal((await pair.target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription], db)).length, 0);
  assert.equal((await pair.source.sql('SELECT 1 FROM pg_subscription WHERE subname = $1 AND subenabled', [names.reverseSubscription], db)).length, 1);
  // Reverse replication carried the target's writes back to the source.
  await waitFor(async () => {
    const [s] = await pair.source.sql<{ n: number }>('SELECT count(*)::int AS n FROM ledger', [], db);
    return s!.n === t!.n;
  }, { timeoutMs: 30_000, what: 'reverse replication to carry the target writes to the source' });

  const again = await runCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).outcome, 'already-done');
});

test('budget exceeded (apply blocked on the target): exit 3, source writable again, replication intact', async () => {
  const { db, cfgPath, bouncer: b } = await setup('budget');
  // Preflight refuses a blocked apply (nothing confirmed within its probe), so
  // the apply is blocked right after it: pgshift stops itself there
  // (PGSHIFT_FAULT=stop:after:preflight) until the lock is held and a row waits.
  // --no-reverse: preparing the reverse publication would itself wait for the lock.
  const run = startCli(['-c', cfgPath, '--yes', 'switchover', db, '--max-pause', '800ms', '--no-reverse'], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:preflight' }, timeoutMs: 60_000 });
  await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 30_000, what: 'switchover to stop after preflight' });
  const lock = await pair.target.client(db);
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
  await pair.source.sql('INSERT INTO ledger (client, delta) VALUES (-1, 1)', [], db);
  run.child.kill('SIGCONT');
  const r = await run.done;
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /budget|max_pause/);
  assert.match(r.stderr, /nothing was lost/);
  // Writes through PgBouncer reach the source again (RESUME happened, entry unchanged).
  const client = new (await import('pg')).default.Client({ host: '127.0.0.1', port: b.port, user: 'postgres', database: db, password: pair.source.password });
  await client.connect();
  await client.query('INSERT INTO ledger (client, delta) VALUES (-2, 2)');
  const port = (await client.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p;
  await client.end();
  assert.equal(port, pair.source.port);
  await lock.query('ROLLBACK');
  await lock.end();
  // Forward replication still runs: both rows arrive on the target.
  await waitFor(async () => (await pair.target.sql('SELECT 1 FROM ledger WHERE client IN (-1, -2)', [], db)).length === 2,
    { timeoutMs: 30_000, what: 'rows written after the abort to reach the target' });
  const names = namesFor(db);
  assert.equal((await pair.target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1 AND subenabled', [names.subscription], db)).length, 1);
  // No fence record is left behind.
  const fenced = (await pair.source.sql("SELECT to_regclass('pgshift.switchover_fence') IS NOT NULL AS t"))[0]!.t
    ? await pair.source.sql('SELECT 1 FROM pgshift.switchover_fence WHERE database = $1', [db]) : [];
  assert.equal(fenced.length, 0);
});
