// switchover with pause = pgbouncer, SIGKILLed at the points where PgBouncer's
// state matters (record written but not paused yet, PAUSEd, caught up, each
// step after the point of no return, RESUMEd, done), while clients as role
// "app" write through PgBouncer and record every acknowledged insert. After
// each kill:
//   - what an operator sees: PgBouncer still PAUSEd (from the pause until
//     the resume) with the clients queued in it, not failed; the
//     [databases] entry (ini file and SHOW DATABASES) still on the source
//     until the resume; `pgshift status` reports the fence as a problem and,
//     before the point of no return, the RESUME that lifts it by hand;
//   - recovery: `pgshift rollback` before the point of no return (one lane
//     `pgshift cleanup`), re-running `pgshift switchover` after it;
// and then PgBouncer is resumed and points at the side that takes writes,
// the clients carried on through it without one failed statement, every
// acknowledged write is on that side, none twice, its sequence is ahead,
// nothing was committed on the source after the fence (both sides hold the
// same ledger once replication caught up), and exactly the expected pgshift
// objects exist. A fresh database and PgBouncer per lane.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { Pair, slotConfirmed, startCli, versionPairs, waitFor } from '../helpers/harness.js';
import { EmbeddedPgBouncer } from '../../src/embedded/pgbouncer.js';
import { loadConfig } from '../../src/config/config.js';
import { namesFor } from '../../src/replication/names.js';
import { BouncerConsole, readDatabaseEntry } from '../../src/switchover/pgbouncer-admin.js';
import { bouncerYaml, startAndWait } from '../helpers/switchover-fixture.js';
import {
  APP_PASSWORD, NO_OBJECTS, assertAckedOn, assertSameLedger, cli, createAppRole, expectObjects, faultyCli, fenceRow,
  isCommitted, isDone, ledgerDatabase, objects, sequenceAhead, statusOf,
} from './kill-fixture.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
let bouncer: EmbeddedPgBouncer | undefined;

before(async () => {
  pair = await Pair.start(FROM, TO);
  await createAppRole(pair);
});
after(async () => {
  await bouncer?.stop();
  await pair?.stop();
});

interface BouncerLane {
  db: string;
  /** PgBouncer's name for the database. */
  name: string;
  cfg: string;
  bouncer: EmbeddedPgBouncer;
}

/** A replicating ledger database behind a fresh PgBouncer; `alias`: PgBouncer knows it by another name (switchover.pgbouncer.database). */
async function newBouncerLane(prefix: string, opts: { alias?: boolean } = {}): Promise<BouncerLane> {
  const db = await ledgerDatabase(pair, prefix);
  const name = opts.alias ? `front_${db}` : db;
  await bouncer?.stop();
  bouncer = await EmbeddedPgBouncer.start({
    databases: { [name]: { host: pair.source.host, port: pair.source.port, dbname: db } },
    users: { app: APP_PASSWORD },
  });
  const yaml = bouncerYaml(bouncer.port, bouncer.adminPassword, bouncer.configFile, opts.alias ? `    database: ${name}\n` : '').replace('max_pause: 5s', 'max_pause: 10s');
  const cfg = await pair.writeConfig([db], yaml);
  await startAndWait(loadConfig(cfg, pair.env()), db, pair.target);
  return { db, name, cfg, bouncer };
}

// ---- clients writing through PgBouncer ----

let clientIds = 0;

interface BouncerWriters {
  /** client:k of every INSERT acknowledged through PgBouncer. */
  acked: Set<string>;
  /** Every error a client saw: through PgBouncer, a pause must be a delay, never a failure. */
  errors: string[];
  stop(): Promise<void>;
}

function writersThrough(b: EmbeddedPgBouncer, name: string, n = 2): BouncerWriters {
  const acked = new Set<string>();
  const errors: string[] = [];
  let stopping = false;
  const one = async (client: number): Promise<void> => {
    const conn = new pg.Client({ host: '127.0.0.1', port: b.port, user: 'app', password: APP_PASSWORD, database: name, connectionTimeoutMillis: 5000 });
    conn.on('error', (e) => errors.push(`client ${client}: ${e.message}`));
    try {
      await conn.connect();
      for (let k = 0; !stopping; k++) {
        await conn.query('INSERT INTO ledger (client, k) VALUES ($1, $2)', [client, k]);
        acked.add(`${client}:${k}`);
      }
    } catch (e) {
      errors.push(`client ${client}: ${(e as Error).message}`);
    } finally {
      await conn.end().catch(() => undefined);
    }
  };
  const loops = Array.from({ length: n }, () => one(++clientIds));
  return {
    acked,
    errors,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

async function writing(lane: BouncerLane): Promise<BouncerWriters> {
  const w = writersThrough(lane.bouncer, lane.name);
  await waitFor(async () => w.acked.size >= 20 || w.errors.length > 0, { timeoutMs: 20_000, what: 'clients to write through PgBouncer' });
  assert.deepEqual(w.errors, [], 'clients failed before any kill');
  return w;
}

/** The clients make progress (at least `more` further acknowledged writes). */
async function progressing(w: BouncerWriters, more: number, what: string): Promise<void> {
  const from = w.acked.size;
  await waitFor(async () => w.acked.size >= from + more || w.errors.length > 0, { timeoutMs: 20_000, what: `clients to write through PgBouncer ${what}` });
  assert.deepEqual(w.errors, [], `clients failed ${what}`);
}

// ---- PgBouncer as an operator sees it ----

interface BouncerState {
  paused: boolean;
  /** host:port of the server SHOW DATABASES says the entry uses. */
  live: string;
  /** host:port of the entry in pgbouncer.ini. */
  file: string;
  /** Clients waiting in PgBouncer for a server. */
  waiting: number;
}

async function bouncerState(lane: BouncerLane): Promise<BouncerState> {
  const c = await BouncerConsole.open({ admin: lane.bouncer.adminParams(), adminPassword: lane.bouncer.adminPassword });
  try {
    const db = (await c.command('SHOW DATABASES')).find((r) => r.name === lane.name);
    assert.ok(db, `PgBouncer has no database ${lane.name}`);
    const pools = (await c.command('SHOW POOLS')).filter((r) => r.database === lane.name);
    const entry = readDatabaseEntry(readFileSync(lane.bouncer.configFile, 'utf8'), lane.name);
    assert.ok(entry, 'the [databases] entry is gone from pgbouncer.ini');
    return {
      paused: String(db.paused) === '1',
      live: `${String(db.host)}:${String(db.port)}`,
      file: `${entry.host}:${entry.port}`,
      waiting: pools.reduce((n, p) => n + Number(p.cl_waiting ?? 0), 0),
    };
  } finally {
    await c.close();
  }
}

function addr(side: 'source' | 'target'): string {
  const c = side === 'source' ? pair.source : pair.target;
  return `${c.host}:${c.port}`;
}

/** PgBouncer is not paused and sends the database to this side (file, live config, and a real query through it). */
async function bouncerServes(lane: BouncerLane, side: 'source' | 'target', what: string): Promise<void> {
  const st = await bouncerState(lane);
  assert.equal(st.paused, false, `${what}: PgBouncer is still paused`);
  assert.equal(st.file, addr(side), `${what}: pgbouncer.ini points elsewhere than the ${side}`);
  assert.equal(st.live, addr(side), `${what}: PgBouncer (SHOW DATABASES) points elsewhere than the ${side}`);
  const conn = new pg.Client({ host: '127.0.0.1', port: lane.bouncer.port, user: 'app', password: APP_PASSWORD, database: lane.name });
  await conn.connect();
  try {
    const port = (await conn.query<{ p: number }>('SELECT inet_server_port() AS p')).rows[0]!.p;
    assert.equal(String(port), String((side === 'source' ? pair.source : pair.target).port), `${what}: a query through PgBouncer ran elsewhere than the ${side}`);
  } finally {
    await conn.end();
  }
}

/** Points after the RESUME (the feed stops and the other direction starts after it). */
const RESUMED = ['after:resume', 'before:stop-feed', 'after:stop-feed', 'before:reverse', 'after:reverse', 'fence:done'];

/** PgBouncer is paused for the point, i.e. between the PAUSE and the RESUME. */
function pausedAt(point: string): boolean {
  return point !== 'fence:pausing' && !RESUMED.includes(point);
}

/** Right after a kill: PgBouncer's state, the clients, the fence record, and what status says. */
async function afterKill(lane: BouncerLane, w: BouncerWriters, point: string, opts: { status: boolean }): Promise<void> {
  const rec = await fenceRow(pair.source, lane.db);
  assert.ok(rec, `${point}: no fence record on the source`);
  assert.equal(rec.method, 'pgbouncer');
  const want = isDone(point) ? ['done'] : isCommitted(point) ? ['committed'] : ['pausing', 'paused'];
  assert.ok(want.includes(rec.phase), `${point}: fence phase ${rec.phase}, expected ${want.join(' or ')}`);

  const resumed = RESUMED.includes(point);
  const st = await bouncerState(lane);
  assert.equal(st.paused, pausedAt(point), `${point}: PgBouncer paused = ${st.paused}`);
  assert.equal(st.file, addr(resumed ? 'target' : 'source'), `${point}: pgbouncer.ini entry`);
  assert.equal(st.live, addr(resumed ? 'target' : 'source'), `${point}: SHOW DATABASES entry`);
  if (pausedAt(point)) {
    // A killed pgshift left PgBouncer paused: the clients queue in it (they
    // would fail only after its query_wait_timeout), none has failed.
    await waitFor(async () => (await bouncerState(lane)).waiting > 0, { timeoutMs: 10_000, what: `${point}: clients to queue in the paused PgBouncer` });
  } else {
    await progressing(w, 10, `after a kill at ${point}`);
  }
  assert.deepEqual(w.errors, [], `${point}: clients failed`);

  if (!opts.status) return;
  const { code, s } = await statusOf(pair, lane);
  const f = s.fence.source;
  assert.ok(f, `${point}: status --json has no fence on the source`);
  assert.equal(f.method, 'pgbouncer');
  assert.equal(f.phase, rec.phase);
  if (rec.phase === 'done') {
    assert.equal(f.interrupted, false);
    assert.ok(!s.problems.some((p) => p.message === f.message), `${point}: a finished switchover reported as a problem`);
    // PgBouncer was resumed: there is nothing to RESUME, and the source itself never was fenced.
    assert.deepEqual(f.undoSql, [], `${point}: undo SQL for a finished switchover`);
    assert.match(f.message, /PgBouncer, which sends its clients to the target/);
    assert.match(f.message, /source itself is not fenced/);
    return;
  }
  assert.equal(code, 1, `${point}: status exits 1 while an interrupted switchover left PgBouncer in its hands`);
  assert.ok(s.problems.some((p) => p.code === 'fence_interrupted' && p.message === f.message), `${point}: status problems do not report the fence: ${JSON.stringify(s.problems)}`);
  // status asks PgBouncer itself how it stands.
  assert.deepEqual(f.pgbouncer, { name: lane.name, paused: pausedAt(point), pointsAt: resumed ? 'target' : 'source', server: addr(resumed ? 'target' : 'source') },
    `${point}: PgBouncer as status reports it`);
  if (pausedAt(point)) assert.match(f.message, new RegExp(`PgBouncer holds "${lane.name}" paused: its clients wait there`));
  if (rec.phase === 'committed') {
    assert.match(f.message, /pgshift -c \S+ switchover \S+" to finish it/);
    assert.deepEqual(f.undoSql, [], 'resuming PgBouncer by hand after the point of no return is not safe advice');
    if (resumed) {
      assert.match(f.message, /after PgBouncer was resumed: writes go to the target/);
      assert.doesNotMatch(f.message, /no side takes writes/);
    } else {
      assert.match(f.message, /no side takes writes until it is finished/);
    }
  } else {
    assert.match(f.message, /pgshift -c \S+ rollback \S+" to give the source its writes back/);
    assert.ok(f.undoSql.includes(`RESUME ${lane.name};`), `${point}: no RESUME in ${JSON.stringify(f.undoSql)}`);
    assert.ok(f.message.includes(`By hand, on the PgBouncer admin console (pgbouncer_admin@127.0.0.1:${lane.bouncer.port}/pgbouncer): RESUME ${lane.name};`), f.message);
  }
}

async function killed(lane: BouncerLane, point: string): Promise<void> {
  const k = await faultyCli(pair, ['-c', lane.cfg, '--yes', '--json', 'switchover', lane.db], point);
  assert.equal(k.signal, 'SIGKILL', `switchover was not killed at ${point} (exit ${k.code}): ${k.stderr}${k.stdout}`);
}

/** Writes go to the source through PgBouncer; forward replication runs; nothing of the switchover is left. */
async function replicating(lane: BouncerLane, w: BouncerWriters, what: string): Promise<void> {
  await bouncerServes(lane, 'source', what);
  await progressing(w, 10, what);
  await w.stop();
  assert.deepEqual(w.errors, [], `${what}: clients failed`);
  const { source, target } = pair;
  assert.equal(await fenceRow(source, lane.db), undefined, `${what}: fence record left on the source`);
  assert.equal(await fenceRow(target, lane.db), undefined, `${what}: fence record left on the target`);
  await assertAckedOn(source, lane.db, w.acked, `the source (${what})`);
  await sequenceAhead(source, lane.db);
  await slotConfirmed(source, namesFor(lane.db).slot, { timeoutMs: 60_000, intervalMs: 50 });
  await assertSameLedger(target, source, lane.db, what);
  const o = await objects(pair, lane.db);
  expectObjects(o, { forwardPub: 1, forwardSub: 1, forwardSlot: 1, reverseSubEnabled: 0, reverseSlot: 0, syncSlots: 0 }, what);
  assert.ok(o.reversePub <= 1 && o.reverseSub <= 1, `${what}: duplicate reverse objects`);
}

/** Writes go to the target through PgBouncer; the source took none after the fence; reverse replication carries them back once. */
async function switched(lane: BouncerLane, w: BouncerWriters, what: string): Promise<void> {
  await bouncerServes(lane, 'target', what);
  await progressing(w, 10, what);
  await w.stop();
  assert.deepEqual(w.errors, [], `${what}: clients failed`);
  const { source, target } = pair;
  assert.equal((await fenceRow(source, lane.db))?.phase, 'done', `${what}: source fence record`);
  assert.equal(await fenceRow(target, lane.db), undefined, `${what}: fence record on the target`);
  await assertAckedOn(target, lane.db, w.acked, `the target (${what})`);
  await sequenceAhead(target, lane.db);
  // A row committed on the source after the fence would be on the source
  // only (forward replication stopped at the fence), or collide with the
  // target's own row of the same id when reverse replication brings it.
  await slotConfirmed(target, namesFor(lane.db).reverseSlot, { timeoutMs: 60_000, intervalMs: 50 });
  await assertSameLedger(source, target, lane.db, what);
  expectObjects(await objects(pair, lane.db),
    { forwardPub: 1, forwardSub: 0, forwardSlot: 0, reversePub: 1, reverseSub: 1, reverseSubEnabled: 1, reverseSlot: 1, syncSlots: 0 }, what);
}

interface LanePlan {
  /** Kills before the point of no return, each undone by `pgshift rollback`. */
  undone: string[];
  /** A kill finished (or done again) by re-running `pgshift switchover`. */
  final?: string;
  /** Or: a kill undone by `pgshift cleanup` (ends the lane). */
  cleanupAt?: string;
  /** PgBouncer knows the database by another name. */
  alias?: boolean;
  /** Before the rollback, lift the first undone kill's fence by hand with the command status gave. */
  byHand?: boolean;
}

const LANES: LanePlan[] = [
  { undone: ['fence:pausing', 'after:pause'], final: 'before:stop-feed', alias: true },
  { undone: ['after:catch-up'], final: 'after:stop-feed', byHand: true },
  { undone: [], final: 'after:reverse' },
  { undone: [], final: 'before:resume' },
  { undone: [], final: 'after:resume' },
  { undone: [], final: 'fence:done' },
  { undone: [], final: 'after:pause' },
  { undone: [], cleanupAt: 'after:catch-up' },
];

for (const [i, plan] of LANES.entries()) {
  const label = [...plan.undone.map((p) => `${p} -> rollback`), plan.final ? `${plan.final} -> switchover` : `${plan.cleanupAt} -> cleanup`].join(', ');
  test(`pgbouncer switchover ${FROM}->${TO} killed ${label}`, async () => {
    const lane = await newBouncerLane(`killpgb${i + 1}`, { alias: plan.alias });

    for (const [n, point] of plan.undone.entries()) {
      const w = await writing(lane);
      await killed(lane, point);
      await afterKill(lane, w, point, { status: n === 0 || point === 'after:pause' });
      if (plan.byHand && n === 0) {
        const { s } = await statusOf(pair, lane);
        const c = await BouncerConsole.open({ admin: lane.bouncer.adminParams(), adminPassword: lane.bouncer.adminPassword });
        try {
          for (const line of s.fence.source!.undoSql.filter((l) => !l.startsWith('--'))) await c.command(line.replace(/;$/, ''));
        } finally {
          await c.close();
        }
        await bouncerServes(lane, 'source', 'RESUME by hand');
        await progressing(w, 10, 'after RESUME by hand');
      }
      const r = await cli(pair, lane, ['rollback', lane.db]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.json?.outcome, 'undone-interrupted');
      await replicating(lane, w, `switchover killed ${point}, then rollback`);
    }

    if (plan.cleanupAt) {
      const w = await writing(lane);
      await killed(lane, plan.cleanupAt);
      await afterKill(lane, w, plan.cleanupAt, { status: true });
      const c = await cli(pair, lane, ['cleanup', lane.db]);
      assert.equal(c.code, 0, c.stderr + c.stdout);
      await bouncerServes(lane, 'source', 'after cleanup');
      await progressing(w, 10, 'after cleanup');
      await w.stop();
      assert.deepEqual(w.errors, [], 'clients failed');
      assert.equal(await fenceRow(pair.source, lane.db), undefined, 'fence record left after cleanup');
      await assertAckedOn(pair.source, lane.db, w.acked, 'the source (after cleanup)');
      expectObjects(await objects(pair, lane.db), NO_OBJECTS, 'after cleanup');
      return;
    }

    const point = plan.final!;
    const w = await writing(lane);
    await killed(lane, point);
    await afterKill(lane, w, point, { status: true });
    const r = await cli(pair, lane, ['switchover', lane.db]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.json?.outcome, isDone(point) ? 'already-done' : isCommitted(point) ? 'finished-interrupted' : 'done');
    await switched(lane, w, `switchover killed ${point}, then switchover`);
    const c = await cli(pair, lane, ['cleanup', lane.db]);
    assert.equal(c.code, 0, c.stderr + c.stdout);
    expectObjects(await objects(pair, lane.db), NO_OBJECTS, 'after cleanup');
  });
}

// The kill an operator is most likely to make: PAUSE is waiting for a long
// transaction (pgshift shows nothing happening), and pgshift is killed then.
// PgBouncer is left pausing: the long transaction still commits, new ones queue.
test(`pgbouncer switchover ${FROM}->${TO} killed while PAUSE waits for a long transaction -> rollback, then switchover`, async () => {
  const lane = await newBouncerLane('killpgbwait');
  const w = await writing(lane);
  const long = new pg.Client({ host: '127.0.0.1', port: lane.bouncer.port, user: 'app', password: APP_PASSWORD, database: lane.name });
  long.on('error', (e) => w.errors.push(`long transaction: ${e.message}`));
  await long.connect();
  try {
    await long.query('BEGIN');
    await long.query('INSERT INTO ledger (client, k) VALUES (-2, 0)');
    const run = startCli(['-c', lane.cfg, '--yes', '--json', 'switchover', lane.db], { env: pair.env() });
    await waitFor(async () => (await bouncerState(lane)).paused, { timeoutMs: 20_000, what: 'PgBouncer PAUSE to begin' });
    run.child.kill('SIGKILL');
    const k = await run.done;
    assert.equal(k.signal, 'SIGKILL', k.stderr + k.stdout);
    assert.equal((await fenceRow(pair.source, lane.db))?.phase, 'pausing');
    await waitFor(async () => (await bouncerState(lane)).waiting > 0, { timeoutMs: 10_000, what: 'clients to queue in the pausing PgBouncer' });
    const { code, s } = await statusOf(pair, lane);
    assert.equal(code, 1);
    assert.equal(s.fence.source?.pgbouncer?.paused, true);
    assert.ok(s.fence.source?.undoSql.includes(`RESUME ${lane.name};`), JSON.stringify(s.fence.source));
    // The transaction PAUSE was waiting for still commits: PgBouncer lets it finish.
    await long.query('COMMIT');
    w.acked.add('-2:0');
  } finally {
    await long.end().catch(() => undefined);
  }
  const r = await cli(pair, lane, ['rollback', lane.db]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(r.json?.outcome, 'undone-interrupted');
  await replicating(lane, w, 'killed during PAUSE, then rollback');

  const again = await writing(lane);
  const sw = await cli(pair, lane, ['switchover', lane.db]);
  assert.equal(sw.code, 0, sw.stderr + sw.stdout);
  assert.equal(sw.json?.outcome, 'done');
  await switched(lane, again, 'then switchover');
  const { s } = await statusOf(pair, lane);
  assert.equal(s.fence.source?.interrupted, false);
});
