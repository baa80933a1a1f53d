// Two databases moved in one pause (revoke), with the role "app" writing to
// both and every acknowledged write recorded, on one pair of clusters whose
// state carries from test to test:
//   1. `switchover A B`: every acknowledged write of each on the target, one
//      shared pause reported; `rollback --all`: back on the source.
//   2. A transaction holding a transaction id on the target: making the
//      reverse slots waits for it, so the switchover is refused before any
//      pause (exit 1, the holder named), nothing changed.
//   3. B cannot catch up (its apply is blocked by a lock on the target) within
//      a small --max-pause: exit 3, and both A (which had caught up) and B
//      have their writes back on the source, nothing lost, both still
//      replicating; a later `switchover A B` works.
//   4. `rollback A B` killed after the commit (both records "committed"):
//      running it again finishes each database from its own record.
//   5. PgBouncer: two pgbench databases switched over in one pause through one
//      PgBouncer under load: no failed transaction, every one on the target,
//      both entries repointed with one RELOAD.
//   6. One database's resume fails (the command method's resume command
//      exits 1 for it): the other finishes (its record "done"), the failed
//      one stays committed and fenced, and the same command finishes it.
//   7. One database fails inside the pause (its pause command exits 1) while
//      the other waits for a blocked apply: the pause ends for both at once
//      (not when max_pause runs out), both get their writes back.
import { readFileSync } from 'node:fs';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, isStopped, slotConfirmed, startCli, versionPairs, waitFor } from '../helpers/harness.js';
import { namesFor } from '../../src/replication/names.js';
import { loadConfig } from '../../src/config/config.js';
import { bouncerYaml, parsePgbench, pgbench, pgbenchDatabase, startAndWait, writeScript } from '../helpers/switchover-fixture.js';
import { EmbeddedPgBouncer } from '../../src/embedded/pgbouncer.js';
import { appCanWrite, assertAckedOn, assertSameLedger, cli, expectObjects, faultyCli, fenceRow, killMatrixPair, KillChecks, ledgerDatabase, objects, sequenceAhead, type Lane, type Writers } from './kill-fixture.js';

const [[FROM, TO]] = versionPairs([[14, 18]]) as [[number, number]];
let pair: Pair;
let check: KillChecks;
let lanes: [Lane, Lane];
const acked = new Map<string, Set<string>>();

let bouncer: EmbeddedPgBouncer | undefined;

killMatrixPair(FROM, TO, (p, c) => {
  pair = p;
  check = c;
});
after(async () => {
  await bouncer?.stop();
});

interface MoveJson {
  ok: boolean;
  direction: string;
  pauseMs: number;
  pause: { startMs: number; endMs: number; ms: number };
  databases: { database: string; outcome: string; pauseMs?: number; reverseVerified?: boolean; timeline: { phases: { phase: string; startMs: number; ms: number; inPause: boolean }[] } }[];
}

async function writersOnBoth(side: 'source' | 'target'): Promise<Writers[]> {
  return Promise.all(lanes.map((l) => check.writersOn(side, l.db)));
}

async function stopWriters(ws: Writers[]): Promise<void> {
  await Promise.all(ws.map((w) => w.stop()));
  ws.forEach((w, i) => w.acked.forEach((t) => acked.get(lanes[i]!.db)!.add(t)));
}

/**
 * Writes still go to the source after an aborted switchover: no switchover
 * record, the rollback's record still on the target (it stays fenced), every
 * acknowledged write on the source and, through forward replication, on the
 * target once.
 */
async function stillOnSource(l: Lane, what: string): Promise<void> {
  assert.equal(await fenceRow(pair.source, l.db), undefined, `${what}: fence record left on the source`);
  assert.equal((await fenceRow(pair.target, l.db))?.direction, 'rollback', `${what}: the rollback's fence on the target`);
  assert.equal(await appCanWrite(pair.source, l.db), true, `${what}: "app" cannot write on the source`);
  await assertAckedOn(pair.source, l.db, acked.get(l.db)!, `the source (${what})`);
  await sequenceAhead(pair.source, l.db);
  await slotConfirmed(pair.source, namesFor(l.db).slot, { timeoutMs: 60_000, intervalMs: 50 });
  await assertSameLedger(pair.source, pair.target, l.db, what);
  expectObjects(await objects(pair, l.db), { forwardPub: 1, forwardSub: 1, forwardSlot: 1, reverseSubEnabled: 0, reverseSlot: 0, syncSlots: 0 }, what);
}

/** Both databases moved now, in one pause that spans every database's own. */
function assertOnePause(doc: MoveJson, direction: string): void {
  assert.equal(doc.ok, true);
  assert.equal(doc.direction, direction);
  assert.deepEqual(doc.databases.map((d) => d.database), lanes.map((l) => l.db));
  assert.ok(doc.pause.ms > 0 && doc.pauseMs === doc.pause.ms, `shared pause: ${JSON.stringify(doc.pause)}`);
  for (const d of doc.databases) {
    assert.equal(d.outcome, 'done', `${d.database}: outcome`);
    const inPause = d.timeline.phases.filter((p) => p.inPause);
    for (const name of ['pause', 'fence', 'catch-up', 'resume']) assert.ok(inPause.some((p) => p.phase === name), `${d.database}: ${name} in the pause`);
    // Stopping the feed and starting the other direction wait for no one: after the resume.
    for (const name of ['stop-feed', 'reverse']) assert.ok(d.timeline.phases.some((p) => p.phase === name && !p.inPause), `${d.database}: ${name} after the pause`);
    // Every database's paused phases lie inside the one window.
    for (const p of inPause) assert.ok(p.startMs >= doc.pause.startMs - 0.1 && p.startMs + p.ms <= doc.pause.endMs + 0.1, `${d.database} ${p.phase} outside the shared pause`);
  }
}

test(`switchover of two databases in one pause ${FROM}->${TO} (revoke), then rollback --all: every acknowledged write of each on the new primary`, async () => {
  const dbs = await Promise.all([ledgerDatabase(pair, 'multia'), ledgerDatabase(pair, 'multib')]);
  const cfg = await pair.writeConfig(dbs, 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
  await Promise.all(dbs.map((db) => startAndWait(loadConfig(cfg, pair.env()), db, pair.target)));
  lanes = [{ db: dbs[0], cfg, method: 'revoke' }, { db: dbs[1], cfg, method: 'revoke' }];
  for (const db of dbs) acked.set(db, new Set());

  let ws = await writersOnBoth('source');
  const sw = await cli(pair, lanes[0], ['switchover', ...dbs]);
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  await stopWriters(ws);
  assertOnePause(sw.json as unknown as MoveJson, 'switchover');
  for (const d of (sw.json as unknown as MoveJson).databases) assert.equal(d.reverseVerified, true, `${d.database}: reverse replication`);
  for (const l of lanes) await check.switched(l, acked.get(l.db)!, `${l.db} after the switchover`);
  // The phase events (NDJSON on stderr with --json, the journal's records) name their database.
  assert.match(sw.stderr, new RegExp(`"phase":"catch-up","state":"done"[^\\n]*"database":"${dbs[1]}"`));

  ws = await writersOnBoth('target');
  const rb = await cli(pair, lanes[0], ['rollback', '--all']);
  assert.equal(rb.code, 0, rb.stderr + rb.stdout);
  await stopWriters(ws);
  assertOnePause(rb.json as unknown as MoveJson, 'rollback');
  for (const l of lanes) await check.rolledBack(l, acked.get(l.db)!, `${l.db} after the rollback`);
});

test('a transaction holding a transaction id on the target refuses the switchover before any pause: the reverse slots cannot start after it; nothing changed', async () => {
  const [a, b] = lanes;
  const ws = await writersOnBoth('source');
  const holder = await pair.target.client('postgres');
  let pid: number;
  let r;
  try {
    await holder.query('CREATE TABLE IF NOT EXISTS xid_holder (x int)');
    await holder.query('BEGIN');
    await holder.query('INSERT INTO xid_holder VALUES (1)');
    pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    r = await cli(pair, a, ['switchover', a.db, b.db]);
  } finally {
    await holder.query('ROLLBACK');
    await holder.query('DROP TABLE IF EXISTS xid_holder');
    await holder.end();
  }
  await stopWriters(ws);
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const doc = JSON.stringify(r.json);
  assert.equal(r.json?.code, 'opposite_slot_wait', doc);
  assert.match(doc, new RegExp(`pid ${pid} \\(postgres@postgres`), 'the holder is named');
  assert.match(doc, /Writes were not paused; nothing was changed/);
  // No pause happened: no record, no reverse slot, both still on the source and replicating.
  for (const l of lanes) await stillOnSource(l, `${l.db} after the refused switchover`);
});

test('one database cannot catch up within max_pause: both get their writes back on the source, nothing lost, both still replicating', async () => {
  const [a, b] = lanes;
  const ws = await writersOnBoth('source');
  // Preflight refuses a blocked apply, and making the reverse slots waits for it, so the
  // apply is blocked right before the pause: pgshift stops itself there
  // (PGSHIFT_FAULT=stop:before:pause) until B's ledger is locked on the target.
  const run = startCli(['-c', a.cfg, '--yes', '--json', 'switchover', a.db, b.db, '--max-pause', '2s'], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:before:pause' }, timeoutMs: 90_000 });
  await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 60_000, what: 'switchover to stop before the pause' });
  const lock = await pair.target.client(b.db);
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
  // Writes B's writers made before the fence now wait on the lock in B's apply.
  const resume = setInterval(() => {
    if (isStopped(run.child.pid!)) run.child.kill('SIGCONT');
  }, 10);
  let r;
  try {
    r = await run.done;
  } finally {
    clearInterval(resume);
    // Released whatever happened: a lock left held would block B's apply for every later test.
    await lock.query('ROLLBACK');
    await lock.end();
  }
  await stopWriters(ws);
  assert.equal(r.code, 3, r.stderr + r.stdout);
  const err = JSON.parse(r.stdout) as { ok: boolean; code: string; message: string; details: { timelines: Record<string, { phases: { phase: string; message?: string }[] }> } };
  assert.equal(err.code, 'budget_exceeded');
  // A caught up in time (so the test proves all or none), B did not.
  const phase = (db: string, name: string) => err.details.timelines[db]!.phases.find((p) => p.phase === name);
  assert.doesNotMatch(phase(a.db, 'catch-up')?.message ?? 'missing', /failed|missing/, `${a.db} did not catch up: the test proves nothing`);
  assert.match(phase(b.db, 'catch-up')?.message ?? '', /failed/);
  assert.match(err.message, new RegExp(`${b.db}: the subscriber had not applied`));
  assert.match(err.message, /Writes of every database .* were given back to the source/);
  // A had caught up, yet it was not switched over: all or none.
  for (const l of lanes) await stillOnSource(l, `${l.db} after the aborted switchover`);

  const again = await writersOnBoth('source');
  const sw = await cli(pair, a, ['switchover', a.db, b.db]);
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  await stopWriters(again);
  assertOnePause(sw.json as unknown as MoveJson, 'switchover');
  for (const l of lanes) await check.switched(l, acked.get(l.db)!, `${l.db} after the switchover that followed the abort`);
});

test('rollback of both killed after the commit: running it again finishes each database from its own record', async () => {
  const [a, b] = lanes;
  const ws = await writersOnBoth('target');
  const k = await faultyCli(pair, ['-c', a.cfg, '--yes', '--json', 'rollback', a.db, b.db], 'after:stop-feed');
  assert.equal(k.signal, 'SIGKILL', `rollback was not killed (exit ${k.code}): ${k.stderr}${k.stdout}`);
  await stopWriters(ws);
  // One statement committed both: neither database can be left behind.
  for (const l of lanes) assert.equal((await fenceRow(pair.target, l.db))?.phase, 'committed', `${l.db}: fence record after the kill`);
  const again = await cli(pair, a, ['rollback', a.db, b.db]);
  assert.equal(again.code, 0, again.stderr + again.stdout);
  const doc = again.json as unknown as MoveJson;
  assert.deepEqual(doc.databases.map((d) => [d.database, d.outcome]), lanes.map((l) => [l.db, 'finished-interrupted']));
  for (const l of lanes) await check.rolledBack(l, acked.get(l.db)!, `${l.db} after the finished rollback`);
});

test('pgbouncer: two databases switched over in one pause under pgbench, one RELOAD, no failed transaction', async () => {
  const dbs = [await pair.freshDatabase('pgbmulti'), await pair.freshDatabase('pgbmulti')];
  for (const db of dbs) await pgbenchDatabase(pair, db);
  bouncer = await EmbeddedPgBouncer.start({
    databases: Object.fromEntries(dbs.map((db) => [db, { host: pair.source.host, port: pair.source.port, dbname: db }])),
    users: { postgres: pair.source.password },
  });
  const b = bouncer;
  const cfg = await pair.writeConfig(dbs, bouncerYaml(b.port, b.adminPassword, b.configFile));
  await Promise.all(dbs.map((db) => startAndWait(loadConfig(cfg, pair.env()), db, pair.target)));
  const script = writeScript(pair.dir, 'ledger-multi.sql');
  const benches = dbs.map((db) => pgbench(['-n', '-M', 'simple', '-c', '4', '-j', '2', '-T', '25', '-f', script], { host: '127.0.0.1', port: b.port, user: 'postgres', dbname: db }, pair.source.password));
  for (const db of dbs) {
    await waitFor(async () => (await pair.source.sql<{ n: number }>('SELECT count(*)::int AS n FROM ledger', [], db))[0]!.n > 100, { timeoutMs: 30_000, what: `load on ${db}` });
  }
  const reloadsBefore = b.log().split('RELOAD command issued').length;
  const sw = await cli(pair, { cfg }, ['switchover', ...dbs]);
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  const doc = sw.json as unknown as MoveJson;
  assert.deepEqual(doc.databases.map((d) => [d.database, d.outcome]), dbs.map((db) => [db, 'done']));
  assert.ok(doc.pause.ms > 0);
  assert.equal(b.log().split('RELOAD command issued').length - reloadsBefore, 1, 'one RELOAD for both databases');
  const ini = readFileSync(b.configFile, 'utf8');
  for (const db of dbs) assert.match(ini, new RegExp(`${db}\\s*=.*port=${pair.target.port}`), `${db}: PgBouncer entry repointed`);
  // The clients of both databases write on the target now (PgBouncer opens its new server connections one at a time).
  for (const db of dbs) {
    await waitFor(async () => (await pair.target.sql<{ n: number }>('SELECT count(*)::int AS n FROM ledger WHERE server_port = $1', [pair.target.port], db))[0]!.n > 0,
      { timeoutMs: 20_000, what: `${db}: transactions through PgBouncer on the target` });
  }
  for (const [i, db] of dbs.entries()) {
    const res = await benches[i]!;
    const out = res.stdout + res.stderr;
    const summary = parsePgbench(out);
    assert.equal(res.code, 0, out);
    assert.equal(summary.failed, 0, out);
    assert.ok(!/client \d+ aborted/.test(out), out);
    const [t] = await pair.target.sql<{ n: number; on_target: number }>(
      'SELECT count(*)::int AS n, count(*) FILTER (WHERE server_port = $1)::int AS on_target FROM ledger', [pair.target.port], db);
    assert.equal(t!.n, summary.processed, `${db}: ledger rows on the target = transactions pgbench processed`);
    assert.ok(t!.on_target > 0, `${db}: transactions ran on the target after the switchover`);
  }
});

test('a resume that fails for one database is that database\'s alone: the other finishes, the re-run finishes the first', async () => {
  const dbs = [await ledgerDatabase(pair, 'resfail'), await ledgerDatabase(pair, 'resfail')] as [string, string];
  const [bad, good] = dbs;
  const method = (resume: string): string => `switchover:\n  pause: command\n  max_pause: 10s\n  command:\n    pause: "true"\n    resume: '${resume}'\n`;
  const cfg = await pair.writeConfig(dbs, method(`test "$PGSHIFT_DATABASE" != "${bad}"`));
  await Promise.all(dbs.map((db) => startAndWait(loadConfig(cfg, pair.env()), db, pair.target)));
  const sw = await cli(pair, { cfg }, ['switchover', bad, good]);
  assert.equal(sw.code, 3, sw.stderr);
  assert.equal(sw.json?.code, 'switchover_incomplete', sw.stdout);
  assert.equal((await fenceRow(pair.source, good))?.phase, 'done', `${good}'s resume succeeded: it finishes`);
  assert.equal((await fenceRow(pair.source, bad))?.phase, 'committed', `${bad} passed its point of no return and waits for the re-run`);
  const fixed = await pair.writeConfig(dbs, method('true'));
  const again = await cli(pair, { cfg: fixed }, ['switchover', bad]);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await fenceRow(pair.source, bad))?.phase, 'done');
});

test('one database failing inside the pause ends the pause of every database at once: the other stops waiting for its apply, both get their writes back', async () => {
  const dbs = [await ledgerDatabase(pair, 'cut'), await ledgerDatabase(pair, 'cut')] as [string, string];
  const [slow, bad] = dbs;
  // The command method, whose pause command fails at once for "bad"; max_pause far longer than the test.
  const cfg = await pair.writeConfig(dbs, `switchover:\n  pause: command\n  max_pause: 300s\n  command:\n    pause: 'test "$PGSHIFT_DATABASE" != "${bad}"'\n    resume: "true"\n`);
  await Promise.all(dbs.map((db) => startAndWait(loadConfig(cfg, pair.env()), db, pair.target)));
  // slow's apply is blocked right before the pause (earlier, preflight and the reverse slot
  // would refuse), with a row on the source it cannot apply: its catch-up cannot end by itself.
  const run = startCli(['-c', cfg, '--yes', '--json', 'switchover', slow, bad], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:before:pause' }, timeoutMs: 240_000 });
  await waitFor(async () => isStopped(run.child.pid!), { timeoutMs: 60_000, what: 'switchover to stop before the pause' });
  const lock = await pair.target.client(slow);
  let r;
  try {
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE ledger IN ACCESS EXCLUSIVE MODE');
    await pair.source.sql('INSERT INTO ledger (client, k) VALUES (0, 1000)', [], slow);
    const resume = setInterval(() => {
      if (isStopped(run.child.pid!)) run.child.kill('SIGCONT');
    }, 10);
    try {
      r = await run.done;
    } finally {
      clearInterval(resume);
    }
  } finally {
    await lock.query('ROLLBACK');
    await lock.end();
  }
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const err = JSON.parse(r.stdout) as { code: string; message: string; details: { pause: { ms: number }; timelines: Record<string, { phases: { phase: string; message?: string }[] }> } };
  assert.equal(err.code, 'command_failed', r.stdout);
  assert.match(err.message, new RegExp(`${bad}: the pause command exited with 1`));
  assert.doesNotMatch(err.message, new RegExp(`${slow}:`), `${slow} is not reported as failing: it was stopped for ${bad}`);
  assert.match(err.message, /Writes of every database .* were given back to the source/);
  // slow was still waiting for its apply when the pause ended: well before max_pause (300 s).
  assert.match(err.details.timelines[slow]!.phases.find((p) => p.phase === 'catch-up')?.message ?? 'missing', /^failed/);
  assert.ok(err.details.pause.ms < 150_000, `the pause lasted ${err.details.pause.ms} ms: the others waited for the budget`);
  // Nothing left fenced, and replication still carries slow's row.
  for (const db of dbs) assert.equal(await fenceRow(pair.source, db), undefined, `${db}: fence record left`);
  await waitFor(async () => (await pair.target.sql('SELECT 1 FROM ledger WHERE k = 1000', [], slow)).length === 1, { timeoutMs: 60_000, what: `${slow}'s row to arrive once the lock went` });
});
