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

async function setup(prefix: string, settings?: Record<string, string | number>): Promise<{ db: string; cfgPath: string; bouncer: EmbeddedPgBouncer }> {
  const db = await pair.freshDatabase(prefix);
  await pgbenchDatabase(pair, db);
  await bouncer?.stop();
  bouncer = await EmbeddedPgBouncer.start({
    databases: { [db]: { host: pair.source.host, port: pair.source.port, dbname: db } },
    users: { postgres: pair.source.password },
    settings,
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
  for (const p of ['pause', 'fence', 'catch-up', 'sequences', 'resume', 'stop-feed', 'reverse']) {
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
  // No client statement reached the target while the source still took writes: every row
  // written on the target (its server_port) is later than every row written on the source
  // (one machine, one clock; clock_timestamp() at the INSERT).
  const [order] = await pair.target.sql<{ ok: boolean }>(
    'SELECT (SELECT min(at) FROM ledger WHERE server_port = $1) > (SELECT max(at) FROM ledger WHERE server_port = $2) AS ok', [pair.target.port, pair.source.port], db);
  assert.equal(order!.ok, true, 'a client transaction ran on the target before the last one on the source');
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

// PgBouncer 1.18 closes a paused database's server connections every loop,
// one still logging in too, and takes that for a failed login: for
// server_login_retry (15 s) it then opens no server connection for the pool,
// so after RESUME the queued clients wait and a client whose query arrives
// with no server connection left is disconnected ("server login has been
// failing"). Its janitor opens such logins during a per-database PAUSE to keep
// min_pool_size (every 1/3 s): here a transaction keeps the PAUSE waiting well
// past that, so without pgshift holding min_pool_size at 0 the client below fails.
test('pgbouncer switchover with min_pool_size and a PAUSE that waits for a transaction: every client goes on, on the target; the entry is as before', async () => {
  const { db, cfgPath, bouncer: b } = await setup('minpool', { min_pool_size: 4 });
  const pgmod = (await import('pg')).default;
  const { BouncerConsole, heldEntryFile, readDatabaseEntry } = await import('../../src/switchover/pgbouncer-admin.js');
  const { readFileSync, existsSync } = await import('node:fs');
  const entryBefore = readDatabaseEntry(readFileSync(b.configFile, 'utf8'), db);
  const client = () => {
    const c = new pgmod.Client({ host: '127.0.0.1', port: b.port, user: 'postgres', database: db, password: pair.source.password });
    c.on('error', () => undefined);
    return c;
  };
  const [holder, queued, late] = [client(), client(), client()];
  await Promise.all([holder.connect(), queued.connect(), late.connect()]);
  const console = await BouncerConsole.open(loadConfig(cfgPath, pair.env()).switchover.pgbouncer!);
  try {
    // The janitor has topped the pool up to min_pool_size.
    await waitFor(async () => ((await console.command('SHOW POOLS')).find((r) => r.database === db)?.sv_idle as number) >= 4, { timeoutMs: 30_000, what: 'PgBouncer to open min_pool_size server connections' });
    const run = startCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:preflight' }, timeoutMs: 120_000 });
    await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 60_000, what: 'switchover to stop after preflight' });
    await holder.query('BEGIN');
    await holder.query('INSERT INTO ledger (client, delta) VALUES (-10, 1)');
    run.child.kill('SIGCONT');
    await waitFor(async () => (await console.database(db))?.paused === true, { timeoutMs: 30_000, what: 'PgBouncer to pause the database' });
    // A client queued in the pause, and the PAUSE kept waiting across two janitor runs.
    const queuedDone = queued.query<{ p: number }>('SELECT inet_server_port() AS p');
    const held = Date.now();
    await waitFor(async () => Date.now() - held > 700, { timeoutMs: 5_000, intervalMs: 50, what: 'the PAUSE to span two janitor runs' });
    await holder.query('COMMIT');
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal((JSON.parse(r.stdout) as { outcome: string }).outcome, 'done');
    // Queries arriving now, while PgBouncer may still be logging in to the target, and the
    // one queued in the pause: each runs, on the target (none is refused).
    const insert = (c: InstanceType<typeof pgmod.Client>) => c.query<{ p: number }>('INSERT INTO ledger (client, delta) VALUES (-11, 1) RETURNING inet_server_port() AS p');
    const answers = await Promise.allSettled([queuedDone, insert(late), insert(holder)]);
    for (const a of answers) {
      assert.equal(a.status, 'fulfilled', a.status === 'rejected' ? String(a.reason) : '');
      assert.equal((a as PromiseFulfilledResult<{ rows: { p: number }[] }>).value.rows[0]!.p, pair.target.port);
    }
    // The entry is the user's again (min_pool_size not left at 0), now pointing at the target.
    const entryAfter = readDatabaseEntry(readFileSync(b.configFile, 'utf8'), db);
    assert.deepEqual({ ...entryAfter, port: undefined }, { ...entryBefore, port: undefined });
    assert.equal(entryAfter?.port, String(pair.target.port));
    assert.equal(existsSync(heldEntryFile(b.configFile, db)), false);
    assert.equal((await console.database(db))?.minPoolSize, 4);
    // The held transaction committed on the source before the pause: it reached the target.
    assert.equal((await pair.target.sql('SELECT 1 FROM ledger WHERE client = -10', [], db)).length, 1);
  } finally {
    await console.close();
    await Promise.all([holder.end(), queued.end(), late.end()].map((p) => p.catch(() => undefined)));
  }
});

// The same PgBouncer behaviour, from a login that is simply in flight when
// the switchover pauses (a pool still growing): pre_auth_delay on the source
// keeps one such login going for seconds, so without pgshift waiting for it
// before PAUSE the clients below are refused.
test('pgbouncer switchover while PgBouncer is still logging in a server connection: pgshift waits for it, no client is refused', async () => {
  const { db, cfgPath, bouncer: b } = await setup('growing');
  const pgmod = (await import('pg')).default;
  const { BouncerConsole } = await import('../../src/switchover/pgbouncer-admin.js');
  const client = () => {
    const c = new pgmod.Client({ host: '127.0.0.1', port: b.port, user: 'postgres', database: db, password: pair.source.password });
    c.on('error', () => undefined);
    return c;
  };
  const [a, bb, late] = [client(), client(), client()];
  await Promise.all([a.connect(), bb.connect(), late.connect()]);
  const console = await BouncerConsole.open(loadConfig(cfgPath, pair.env()).switchover.pgbouncer!);
  try {
    await a.query('SELECT 1');
    const run = startCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:preflight' }, timeoutMs: 120_000 });
    await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 60_000, what: 'switchover to stop after preflight' });
    // Every new backend on the source now waits 3 s before it authenticates.
    await pair.source.sql('ALTER SYSTEM SET pre_auth_delay = 3');
    await pair.source.sql('SELECT pg_reload_conf()');
    try {
      // a holds the pool's one server connection in a transaction, so b's query makes PgBouncer log in another.
      await a.query('BEGIN');
      await a.query('SELECT 1');
      const bDone = bb.query('SELECT 1');
      await waitFor(async () => (await console.serverLogins(db)) > 0, { timeoutMs: 10_000, what: 'PgBouncer to log in a second server connection' });
      await a.query('COMMIT');
      await bDone;
      assert.ok((await console.serverLogins(db)) > 0, 'the login is still in flight when the switchover goes on');
      run.child.kill('SIGCONT');
      const r = await run.done;
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal((JSON.parse(r.stdout) as { outcome: string }).outcome, 'done');
    } finally {
      await pair.source.sql('ALTER SYSTEM RESET pre_auth_delay');
      await pair.source.sql('SELECT pg_reload_conf()');
    }
    const answers = await Promise.allSettled([a, bb, late].map((c) => c.query<{ p: number }>('INSERT INTO ledger (client, delta) VALUES (-20, 1) RETURNING inet_server_port() AS p')));
    for (const x of answers) {
      assert.equal(x.status, 'fulfilled', x.status === 'rejected' ? String(x.reason) : '');
      assert.equal((x as PromiseFulfilledResult<{ rows: { p: number }[] }>).value.rows[0]!.p, pair.target.port);
    }
  } finally {
    await console.close();
    await Promise.all([a.end(), bb.end(), late.end()].map((p) => p.catch(() => undefined)));
  }
});
