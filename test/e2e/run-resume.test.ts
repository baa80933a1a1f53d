// run is resumable: SIGKILLed during the initial copy (and, separately, as
// soon as start has made its publication) and run again, it converges to one
// publication, one subscription, one slot and identical data; a slot left by
// a CREATE SUBSCRIPTION that died half-way is replaced, not duplicated.
// Stopped by SIGTERM (what Ctrl-C does), it stops at its next safe point as a
// problem with the way out (exit 1, AbortedError), and running it again
// finishes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, Pair, isStopped, runCli, startCli, waitFor } from '../helpers/harness.js';
import { createFixtureSchema, fillFixture } from '../helpers/fixture-schema.js';
import { assertSameRows, objectCounts, startLoad, waitForCatchUp } from '../helpers/replication-scenario.js';
import { tableRows } from '../helpers/harness.js';
import { namesFor } from '../../src/replication/names.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(13, 17);
});
after(async () => {
  await pair?.stop();
});

function spawnCli(args: string[], env: Record<string, string>): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

async function fixtureWithBulk(prefix: string, bulkRows: number): Promise<string> {
  const db = await pair.freshDatabase(prefix);
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 1000);
  // Enough rows that the initial copy takes seconds, so the kill lands inside it.
  await pair.source.sql(`CREATE TABLE app.bulk (id bigint PRIMARY KEY, payload text NOT NULL);
    INSERT INTO app.bulk SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, ${Number(bulkRows)}) g`, [], db);
  return db;
}

async function assertConverged(db: string): Promise<void> {
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  const [a, b] = await Promise.all([tableRows(pair.source, db, 'app', 'bulk'), tableRows(pair.target, db, 'app', 'bulk')]);
  assert.equal(b.length, a.length);
  assert.deepEqual(b, a);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });
}

test('run SIGKILLed during the initial copy, run again: same end state, nothing duplicated or lost', async () => {
  const db = await fixtureWithBulk('resume', 400_000);
  const cfg = await pair.writeConfig([db]);
  const env = pair.env();
  const load = await startLoad(pair.source, db, 1);
  try {
    const first = spawnCli(['-c', cfg, '--yes', 'run', db], env);
    const sub = namesFor(db).subscription;
    await waitFor(async () => {
      const rows = await pair.target.sql<{ n: string }>(
        `SELECT count(*) AS n FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
          JOIN pg_class c ON c.oid = sr.srrelid WHERE s.subname = $1 AND c.relname = 'bulk' AND sr.srsubstate = 'd'`, [sub], db).catch(() => [{ n: '0' }]);
      return Number(rows[0]!.n) === 1;
    }, { timeoutMs: 90_000, intervalMs: 50, what: 'the initial copy of app.bulk to be running' });
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null, `run ended before it was killed:\n${first.output()}`);

    const second = await runCli(['-c', cfg, '--yes', 'run', db, '--timeout', '120s'], { env, timeoutMs: 150_000 });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /check: already done/);
    assert.match(second.stderr, /start: already done/);
  } finally {
    await load.stop();
  }
  await assertConverged(db);
});

test('run SIGKILLed as soon as its publication exists, run again: converges', async () => {
  const db = await fixtureWithBulk('resume_early', 20_000);
  const cfg = await pair.writeConfig([db]);
  const env = pair.env();
  const first = spawnCli(['-c', cfg, '--yes', 'run', db], env);
  await waitFor(async () => {
    const rows = await pair.source.sql('SELECT 1 FROM pg_publication WHERE pubname = $1', [namesFor(db).publication], db).catch(() => []);
    return rows.length === 1;
  }, { timeoutMs: 90_000, intervalMs: 10, what: 'the publication to exist' });
  first.child.kill('SIGKILL');
  await first.exited;
  const second = await runCli(['-c', cfg, '--yes', 'run', db, '--timeout', '120s'], { env, timeoutMs: 150_000 });
  assert.equal(second.code, 0, second.stderr);
  await assertConverged(db);
});

test('start replaces the slot a half-finished CREATE SUBSCRIPTION left, instead of failing or duplicating', async () => {
  const db = await fixtureWithBulk('orphan', 5_000);
  const cfg = await pair.writeConfig([db]);
  const env = pair.env();
  for (const step of ['roles', 'schema']) {
    const r = await runCli(['-c', cfg, '--yes', step, ...(step === 'schema' ? [db] : [])], { env });
    assert.equal(r.code, 0, `${step}: ${r.stderr}`);
  }
  const names = namesFor(db);
  // What a CREATE SUBSCRIPTION killed after making its slot leaves behind.
  await pair.source.sql("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [names.slot], db);
  const r = await runCli(['-c', cfg, 'start', db], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /dropped replication slot .* left on the source by an interrupted start/);
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '120s'], { env, timeoutMs: 150_000 });
  assert.equal(w.code, 0, w.stderr);
  await assertConverged(db);
});

test('run interrupted by SIGTERM stops before its next step (exit 1, "aborted", the re-run hint), started nothing; run again finishes', async () => {
  const db = await pair.freshDatabase('abort');
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 200);
  const cfg = await pair.writeConfig([db]);
  // Held right after check (stop:) while the signal arrives, then let go: roles has no
  // safe point inside and runs to its end; the runner's check before schema stops the run.
  const first = startCli(['-c', cfg, '--yes', '--json', 'run', db], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:check' }, timeoutMs: 300_000 });
  await waitFor(async () => isStopped(first.child.pid!), { timeoutMs: 120_000, what: 'run to stop after check' });
  first.child.kill('SIGTERM');
  first.child.kill('SIGCONT');
  const r = await first.done;
  assert.equal(r.code, 1, r.stderr);
  const err = JSON.parse(r.stdout) as { ok: boolean; error: string; code: string; message: string; hint: string };
  assert.deepEqual([err.ok, err.error, err.code, err.message], [false, 'AbortedError', 'aborted', 'schema interrupted']);
  assert.match(err.hint, /Re-run the same command/);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 0, subscriptions: 0, slots: 0, slotsOnTarget: 0 });

  const second = await runCli(['-c', cfg, '--yes', 'run', db], { env: pair.env(), timeoutMs: 300_000 });
  assert.equal(second.code, 0, second.stderr);
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });
});
