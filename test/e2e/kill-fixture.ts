// Shared pieces of the kill tests (kill-switchover, kill-rollback): a small
// database with a ledger written by the unprivileged role "app" (each
// acknowledged write recorded as a client:k token), pgshift run with
// PGSHIFT_FAULT so it SIGKILLs itself at a named point, and looks at the
// clusters taken independently of pgshift (fence records, object counts,
// who can write). Imports nothing at load time that starts anything: it is
// not a test file, and does nothing when run.
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import pg from 'pg';
import { Pair, runCli, slotConfirmed, startCli, waitFor, type CliResult } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { namesFor } from '../../src/replication/names.js';
import { startAndWait } from '../helpers/switchover-fixture.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import type { Problem } from '../../src/problems.js';

export const APP_PASSWORD = "app pw ' \\ @ %";

/** Points after which the fence record says "committed" or later (the run must be finished, not undone). */
export function isCommitted(point: string): boolean {
  const phase = point.replace(/^(before|after|fence):/, '');
  if (point === 'fence:committed' || point === 'fence:done') return true;
  return ['stop-feed', 'drain', 'reverse', 'resume', 'cleanup-old'].includes(phase);
}
/** Points after which the fence record exists. */
export function hasRecord(point: string): boolean {
  return !['before:preflight', 'after:preflight'].includes(point);
}
/** Points after which the record says "done" (writes already resumed). */
export function isDone(point: string): boolean {
  return point === 'before:cleanup-old' || point === 'after:cleanup-old' || point === 'fence:done';
}

export type Method = 'revoke' | 'readonly';

export interface Lane {
  db: string;
  cfg: string;
  method: Method;
}

export async function createAppRole(pair: Pair): Promise<void> {
  for (const c of [pair.source, pair.target]) await c.sql(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD.replace(/'/g, "''")}'`);
}

const SCHEMA = [
  'CREATE TABLE ledger (id bigserial PRIMARY KEY, client int NOT NULL, k int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())',
  'CREATE UNLOGGED TABLE scratch (v int)',
  'GRANT ALL ON ALL TABLES IN SCHEMA public TO app',
  'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app',
];

/** A new database on both sides with the ledger (writable by "app") and an unlogged table; rows on the source only. */
export async function ledgerDatabase(pair: Pair, prefix: string): Promise<string> {
  const db = await pair.freshDatabase(prefix);
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) for (const s of SCHEMA) await c.sql(s, [], db);
  await pair.source.sql('INSERT INTO ledger (client, k) SELECT 0, g FROM generate_series(1, 100) g', [], db);
  await pair.source.sql('INSERT INTO scratch SELECT generate_series(1, 50)', [], db);
  return db;
}

/** A database replicating source -> target, caught up, with a few ledger rows and an unlogged table. */
export async function newLane(pair: Pair, method: Method, prefix = 'kill'): Promise<Lane> {
  const db = await ledgerDatabase(pair, prefix);
  const cfg = await pair.writeConfig([db], `switchover:\n  pause: ${method}\n  max_pause: 10s\n`);
  await startAndWait(loadConfig(cfg, pair.env()), db, pair.target);
  return { db, cfg, method };
}


/** The CLI with PGSHIFT_FAULT set to `fault`; resolves with how it ended. */
export function faultyCli(pair: Pair, args: string[], fault: string): Promise<CliResult> {
  return startCli(args, { env: { ...pair.env(), PGSHIFT_FAULT: fault } }).done;
}

export async function cli(pair: Pair, lane: Pick<Lane, 'cfg'>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; json?: Record<string, unknown> }> {
  const r = await runCli(['-c', lane.cfg, '--yes', '--json', ...args], { env: pair.env(), timeoutMs: 90_000 });
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { ...r, json };
}

function appClient(c: EmbeddedCluster, db: string): pg.Client {
  const client = new pg.Client({ host: c.host, port: c.port, user: 'app', password: APP_PASSWORD, database: db, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  return client;
}

let clientIds = 0;

export interface Writers {
  /** client:k of every INSERT the server acknowledged. */
  acked: Set<string>;
  stop(): Promise<void>;
}

/** Writers as role "app" on one side, until stopped or cut off (fenced); every acknowledged insert recorded. */
export function startWriters(c: EmbeddedCluster, db: string, n = 2): Writers {
  const acked = new Set<string>();
  let stopping = false;
  const one = async (client: number): Promise<void> => {
    const conn = appClient(c, db);
    try {
      await conn.connect();
      for (let k = 0; !stopping; k++) {
        await conn.query('INSERT INTO ledger (client, k) VALUES ($1, $2)', [client, k]);
        acked.add(`${client}:${k}`);
      }
    } catch {
      // Cut off by the fence: that is the point.
    } finally {
      await conn.end().catch(() => undefined);
    }
  };
  const loops = Array.from({ length: n }, () => one(++clientIds));
  return {
    acked,
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** Ledger tokens on one side; fails if any write is there twice. */
export async function ledgerTokens(c: EmbeddedCluster, db: string): Promise<Set<string>> {
  const rows = await c.sql<{ t: string; n: number }>("SELECT client || ':' || k AS t, count(*)::int AS n FROM ledger GROUP BY 1", [], db);
  const doubled = rows.filter((r) => r.n > 1).map((r) => r.t);
  assert.deepEqual(doubled, [], `ledger rows doubled on the cluster at port ${c.port}`);
  return new Set(rows.map((r) => r.t));
}

export async function assertAckedOn(c: EmbeddedCluster, db: string, acked: Set<string>, what: string): Promise<void> {
  const have = await ledgerTokens(c, db);
  const lost = [...acked].filter((t) => !have.has(t));
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} acknowledged write(s) missing on ${what}`);
}

export async function ledgerRows(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ r: string }>("SELECT id || ':' || client || ':' || k AS r FROM ledger ORDER BY id", [], db)).map((x) => x.r);
}

/** Both sides hold the same ledger rows (id:client:k); on failure, a short account of the difference. */
export async function assertSameLedger(a: EmbeddedCluster, b: EmbeddedCluster, db: string, what: string): Promise<void> {
  const [ra, rb] = await Promise.all([ledgerRows(a, db), ledgerRows(b, db)]);
  if (ra.length === rb.length && ra.every((r, i) => r === rb[i])) return;
  const sb = new Set(rb);
  const sa = new Set(ra);
  const onlyA = ra.filter((r) => !sb.has(r));
  const onlyB = rb.filter((r) => !sa.has(r));
  assert.fail(`${what}: ledger differs: ${ra.length} rows at port ${a.port}, ${rb.length} at port ${b.port}; only at ${a.port}: ${onlyA.length} (${onlyA.slice(0, 5).join(' ')}), only at ${b.port}: ${onlyB.length} (${onlyB.slice(0, 5).join(' ')})`);
}

/** Can role "app" connect and insert on this side? The insert takes the next id, so it also proves the sequence is ahead of every row. */
export async function appCanWrite(c: EmbeddedCluster, db: string): Promise<string | true> {
  const conn = appClient(c, db);
  try {
    await conn.connect();
    await conn.query('INSERT INTO ledger (client, k) VALUES (-1, (SELECT coalesce(max(k), 0) + 1 FROM ledger WHERE client = -1))');
    return true;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

export async function sequenceAhead(c: EmbeddedCluster, db: string): Promise<void> {
  const [r] = await c.sql<{ last: string; max: string | null }>('SELECT (SELECT last_value FROM ledger_id_seq)::text AS last, (SELECT max(id) FROM ledger)::text AS max', [], db);
  assert.ok(BigInt(r!.last) >= BigInt(r!.max ?? '0'), `ledger_id_seq ${r!.last} is behind max(id) ${r!.max} on port ${c.port}`);
}

export interface FenceRow {
  direction: string;
  phase: string;
  method: string;
}

/** pgshift's fence record for a database on one cluster, read directly. */
export async function fenceRow(c: EmbeddedCluster, db: string): Promise<FenceRow | undefined> {
  const [t] = await c.sql<{ t: string | null }>("SELECT to_regclass('pgshift.switchover_fence')::text AS t");
  if (!t?.t) return undefined;
  const rows = await c.sql<FenceRow & Record<string, unknown>>('SELECT direction, phase, method FROM pgshift.switchover_fence WHERE database = $1', [db]);
  return rows[0];
}

export interface Objects {
  forwardPub: number;
  forwardSub: number;
  forwardSlot: number;
  reversePub: number;
  reverseSub: number;
  reverseSubEnabled: number;
  reverseSlot: number;
  syncSlots: number;
}

/** Every replication object pgshift names for the database, counted on the side it lives. */
export async function objects(pair: Pair, db: string): Promise<Objects> {
  const n = namesFor(db);
  const one = async (c: EmbeddedCluster, sql: string, params: unknown[], database = 'postgres'): Promise<number> =>
    (await c.sql<{ n: number }>(sql, params, database))[0]!.n;
  return {
    forwardPub: await one(pair.source, 'SELECT count(*)::int AS n FROM pg_publication WHERE pubname = $1', [n.publication], db),
    forwardSub: await one(pair.target, 'SELECT count(*)::int AS n FROM pg_subscription WHERE subname = $1', [n.subscription]),
    forwardSlot: await one(pair.source, 'SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [n.slot]),
    reversePub: await one(pair.target, 'SELECT count(*)::int AS n FROM pg_publication WHERE pubname = $1', [n.reversePublication], db),
    reverseSub: await one(pair.source, 'SELECT count(*)::int AS n FROM pg_subscription WHERE subname = $1', [n.reverseSubscription]),
    reverseSubEnabled: await one(pair.source, 'SELECT count(*)::int AS n FROM pg_subscription WHERE subname = $1 AND subenabled', [n.reverseSubscription]),
    reverseSlot: await one(pair.target, 'SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name = $1', [n.reverseSlot]),
    syncSlots: await one(pair.source, "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_%\\_sync\\_%' AND database = $1", [db])
      + await one(pair.target, "SELECT count(*)::int AS n FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_%\\_sync\\_%' AND database = $1", [db]),
  };
}

/** The `status --json` document of the lane's database. */
export async function statusOf(pair: Pair, lane: Pick<Lane, 'cfg' | 'db'>): Promise<{ code: number | null; s: Record<string, unknown> & { problems: Problem[]; fence: { source: FenceInfoJson | null; target: FenceInfoJson | null } } }> {
  const r = await runCli(['-c', lane.cfg, '--json', 'status', lane.db], { env: pair.env() });
  const doc = JSON.parse(r.stdout) as { databases: never[] };
  return { code: r.code, s: doc.databases[0]! };
}

export interface FenceInfoJson {
  side: string;
  direction: string;
  method: string;
  phase: string;
  interrupted: boolean;
  message: string;
  undoSql: string[];
  /** pgbouncer fences: PgBouncer as status found it. */
  pgbouncer?: { name: string; paused: boolean | null; pointsAt: string | null; server: string | null; error?: string };
}

/** A point from which the fence is in place (the pause method ran). */
function fenceInPlace(point: string): boolean {
  if (!hasRecord(point) || isDone(point)) return false;
  return !['before:pause', 'fence:pausing'].includes(point);
}

export function expectObjects(o: Objects, want: Partial<Objects>, what: string): void {
  const got: Partial<Objects> = {};
  for (const k of Object.keys(want) as (keyof Objects)[]) got[k] = o[k];
  assert.deepEqual(got, want, `${what}: pgshift objects`);
}

export const NO_OBJECTS: Objects = { forwardPub: 0, forwardSub: 0, forwardSlot: 0, reversePub: 0, reverseSub: 0, reverseSubEnabled: 0, reverseSlot: 0, syncSlots: 0 };

/** The checks the kill tests make after a kill and after a recovery, on one pair. */
export class KillChecks {
  constructor(readonly pair: Pair) {}

  side(s: 'source' | 'target'): EmbeddedCluster {
    return s === 'source' ? this.pair.source : this.pair.target;
  }

  async writersOn(s: 'source' | 'target', db: string): Promise<Writers> {
    const w = startWriters(this.side(s), db);
    await waitFor(async () => w.acked.size >= 20, { timeoutMs: 20_000, what: 'writers to write' });
    return w;
  }

  async killed(lane: Lane, command: 'switchover' | 'rollback', point: string): Promise<void> {
    const k = await faultyCli(this.pair, ['-c', lane.cfg, '--yes', '--json', command, lane.db], point);
    assert.equal(k.signal, 'SIGKILL', `${command} was not killed at ${point} (exit ${k.code}): ${k.stderr}${k.stdout}`);
  }

  /**
   * Right after a kill: the fence record says where the run stopped; with
   * `status` (optional: it costs a CLI start), status reports the fence, and
   * for an interrupted run, as a problem (exit 1) with the way out.
   */
  async afterKill(lane: Lane, fencedSide: 'source' | 'target', direction: 'switchover' | 'rollback', point: string, opts: { status: boolean }): Promise<void> {
    const rec = await fenceRow(this.side(fencedSide), lane.db);
    if (!hasRecord(point)) {
      assert.equal(rec, undefined, `${point}: no fence record expected on the ${fencedSide}`);
    } else {
      assert.ok(rec, `${point}: the fence record is missing on the ${fencedSide}`);
      assert.equal(rec.direction, direction);
      assert.equal(rec.method, lane.method);
      const want = isDone(point) ? ['done'] : isCommitted(point) ? ['committed'] : ['pausing', 'paused'];
      assert.ok(want.includes(rec.phase), `${point}: fence phase ${rec.phase}, expected ${want.join(' or ')}`);
      if (fenceInPlace(point) && !isCommitted(point)) {
        assert.notEqual(await appCanWrite(this.side(fencedSide), lane.db), true, `${point}: "app" can still write on the fenced ${fencedSide}`);
      }
    }
    if (!opts.status) return;
    const st = await statusOf(this.pair, lane);
    const f = st.s.fence[fencedSide];
    if (!rec) {
      assert.equal(f, null);
      return;
    }
    assert.ok(f, 'status --json has no fence for the fenced side');
    assert.equal(f.phase, rec.phase);
    assert.equal(f.direction, direction);
    if (rec.phase === 'done') {
      assert.equal(f.interrupted, false);
      assert.ok(!st.s.problems.some((p) => p.message === f.message), 'a finished run\'s fence is reported as a problem');
      return;
    }
    assert.equal(f.interrupted, true);
    assert.equal(st.code, 1, 'status exits 1 while an interrupted run left a fence');
    assert.ok(st.s.problems.some((p) => p.code === 'fence_interrupted' && p.message === f.message), `status problems do not report the fence: ${JSON.stringify(st.s.problems)}`);
    if (rec.phase === 'committed') {
      assert.match(f.message, new RegExp(`pgshift -c \\S+ ${direction} \\S+" to finish it`));
      assert.deepEqual(f.undoSql, [], 'lifting a fence by hand after the point of no return is not safe advice');
    } else {
      assert.match(f.message, new RegExp(`pgshift -c \\S+ ${direction === 'switchover' ? 'rollback' : 'switchover'} \\S+" to give the ${fencedSide} its writes back`));
      if (fenceInPlace(point)) {
        assert.ok(f.undoSql.length > 0, 'no SQL to lift the fence by hand');
        assert.ok(f.message.includes(f.undoSql[0]!), 'the message does not carry the SQL');
      }
    }
  }

  /** Writes go to the source, forward replication runs, nothing of a switchover is active. */
  async replicating(lane: Lane, acked: Set<string>, what: string): Promise<void> {
    const { source, target } = this.pair;
    assert.equal(await fenceRow(source, lane.db), undefined, `${what}: fence record left on the source`);
    assert.equal(await fenceRow(target, lane.db), undefined, `${what}: fence record left on the target`);
    assert.equal(await appCanWrite(source, lane.db), true, `${what}: "app" cannot write on the source`);
    await assertAckedOn(source, lane.db, acked, `the source (${what})`);
    await sequenceAhead(source, lane.db);
    await slotConfirmed(source, namesFor(lane.db).slot, { timeoutMs: 60_000, intervalMs: 50 });
    await assertSameLedger(target, source, lane.db, what);
    const o = await objects(this.pair, lane.db);
    expectObjects(o, { forwardPub: 1, forwardSub: 1, forwardSlot: 1, reverseSubEnabled: 0, reverseSlot: 0, syncSlots: 0 }, what);
    assert.ok(o.reversePub <= 1 && o.reverseSub <= 1, `${what}: duplicate reverse objects`);
  }

  /** Writes go to the target, reverse replication carries them back once, the source refuses "app". */
  async switched(lane: Lane, acked: Set<string>, what: string): Promise<void> {
    const { source, target } = this.pair;
    assert.equal((await fenceRow(source, lane.db))?.phase, 'done', `${what}: source fence record`);
    assert.equal(await fenceRow(target, lane.db), undefined, `${what}: fence record on the target`);
    // Writes made on the target so far (by an interrupted rollback's writers) travel back first.
    await slotConfirmed(target, namesFor(lane.db).reverseSlot, { timeoutMs: 60_000, intervalMs: 50 });
    await assertSameLedger(target, source, lane.db, what);
    await assertAckedOn(target, lane.db, acked, `the target (${what})`);
    await sequenceAhead(target, lane.db);
    expectObjects(await objects(this.pair, lane.db),
      { forwardPub: 1, forwardSub: 0, forwardSlot: 0, reversePub: 1, reverseSub: 1, reverseSubEnabled: 1, reverseSlot: 1, syncSlots: 0 }, what);
    assert.equal(await appCanWrite(target, lane.db), true, `${what}: "app" cannot write on the target`);
    assert.notEqual(await appCanWrite(source, lane.db), true, `${what}: "app" can still write on the source`);
    await slotConfirmed(target, namesFor(lane.db).reverseSlot, { timeoutMs: 60_000, intervalMs: 50 });
    await assertSameLedger(source, target, lane.db, `${what}, reverse replication`);
  }

  /** Writes went back to the source; the target is fenced; reverse replication is gone, forward replication runs again. */
  async rolledBack(lane: Lane, acked: Set<string>, what: string): Promise<void> {
    const { source, target } = this.pair;
    assert.equal((await fenceRow(target, lane.db))?.phase, 'done', `${what}: target fence record`);
    assert.equal(await fenceRow(source, lane.db), undefined, `${what}: the switchover's fence record is still on the source`);
    await assertAckedOn(source, lane.db, acked, `the source (${what})`);
    await sequenceAhead(source, lane.db);
    expectObjects(await objects(this.pair, lane.db), { forwardPub: 1, forwardSub: 1, forwardSlot: 1, reverseSub: 0, reverseSlot: 0, syncSlots: 0 }, what);
    // The source's writes since the rollback reach the target through forward replication, once.
    await slotConfirmed(source, namesFor(lane.db).slot, { timeoutMs: 60_000, intervalMs: 50 });
    await assertSameLedger(source, target, lane.db, what);
    assert.equal(await appCanWrite(source, lane.db), true, `${what}: "app" cannot write on the source`);
    assert.notEqual(await appCanWrite(target, lane.db), true, `${what}: "app" can still write on the target`);
  }

  /** pgshift cleanup leaves none of pgshift's objects. */
  async cleanedUp(lane: Lane): Promise<void> {
    const c = await cli(this.pair, lane, ['cleanup', lane.db]);
    assert.equal(c.code, 0, c.stderr + c.stdout);
    expectObjects(await objects(this.pair, lane.db), NO_OBJECTS, 'after cleanup');
  }
}

/**
 * One pair of clusters for a kill-matrix test file, with the app role and the
 * checks, started before its tests and stopped after them.
 */
export function killMatrixPair(from: number, to: number, ready: (pair: Pair, check: KillChecks) => void): void {
  let pair: Pair | undefined;
  before(async () => {
    pair = await Pair.start(from, to);
    await createAppRole(pair);
    ready(pair, new KillChecks(pair));
  });
  after(async () => {
    await pair?.stop();
  });
}

/** One lane of a kill matrix: a database, a pause method, where to kill and how to recover. */
export interface LanePlan {
  method: Method;
  /** Kills before the point of no return, each undone by the opposite command. */
  undone: string[];
  /** A kill finished (or done again) by re-running the same command. */
  final?: string;
  /** Or: a kill undone by `pgshift cleanup` (ends the lane). */
  cleanupAt?: string;
}

/** The lanes to run: all, or every third with PGSHIFT_KILL_MATRIX=quick. */
export function matrixLanes<T>(lanes: T[]): T[] {
  return process.env.PGSHIFT_KILL_MATRIX === 'quick' ? lanes.filter((_, i) => i % 3 === 0) : lanes;
}
