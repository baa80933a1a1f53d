// The switchover dance, written once for both directions: switchover moves
// writes from the source to the target (the forward subscription feeds the
// target), rollback moves them back (the reverse subscription feeds the
// source). The "from" side is the one whose writes are paused and fenced.
//
//   preflight -> pause -> fence proof -> catch-up      (budget: max_pause)
//   -> sequences -> copy what replication cannot carry (still undoable)
//   -> commit: stop the feeding subscription          (point of no return)
//   -> reverse replication (switchover only) -> resume on the other side
//   -> afterwards: drop the old subscription, refresh materialized views
//
// What was done is read back from the clusters, so a run killed at any
// point is finished (after the commit) or undone (before it) by the next.

import { performance } from 'node:perf_hooks';
import type { Config, PauseMethod } from '../config/config.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { PgshiftError, ProblemError, SafetyError } from '../errors.js';
import { silent, type Emit, type Outcome } from '../events.js';
import { formatBytes, formatDuration } from '../util/duration.js';
import { sleep } from '../util/wait.js';
import { namesFor, type MigrationNames } from '../replication/names.js';
import { databaseConfig } from '../config/config.js';
import { replicationBlocker } from '../checks/replication-health.js';
import { checkLabel, pendingDeferred } from '../checks/deferred-constraints.js';
import { Timeline } from './timeline.js';
import { PAUSE_IMPLS, PauseTimeout, undoRecordedFence, type FenceContext, type PauseMethodImpl } from './pause.js';
import { FenceNotProven, describeSession, otherSessions, proveFence } from './fence.js';
import { CatchUpTimeout, waitForApplied } from '../replication/catch-up.js';
import { applySequences, planSequences, type SequenceSync } from './sequences.js';
import { copyLargeObjects, copyTables, type CarriedTable } from './carry.js';
import { createSlotIfMissing, enableSubscription, verifyForward, dropSubscription, planReverse, prepareForward, prepareReverse, reverseRefusal, stopSubscription, verifyReverse, type ReverseVerification } from './reverse.js';
import { populateViews, refreshViews, viewsToCarry, type MatviewRefresh } from './matviews.js';
import { deleteFence, deleteFenceRow, readFence, setFencePhase, writeFence, type Direction, type FenceRecord } from './state.js';
import { unfenceHint } from './fence-status.js';
import { switchoverPrivilegeGaps } from './privileges.js';
import { BouncerConsole, readDatabaseEntry } from './pgbouncer-admin.js';
import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';
import { planPublication } from '../replication/publication.js';
import { subscriptionState } from '../replication/subscription.js';

export interface MoveOptions {
  pause?: PauseMethod;
  maxPauseMs?: number;
  /** Switchover only: start reverse replication (default: config). */
  reverse?: boolean;
  /** Refuse when the subscription is further behind than this (default 64 MB). */
  maxLagBytes?: number;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface MoveResult {
  database: string;
  direction: Direction;
  method: PauseMethod;
  outcome: 'done' | 'already-done' | 'finished-interrupted' | 'undone-interrupted';
  /** Milliseconds writes were paused (pause start to resume done). */
  pauseMs?: number;
  timeline: ReturnType<Timeline['toJSON']>;
  lsn?: string;
  sequences?: SequenceSync;
  copied?: CarriedTable[];
  largeObjects?: number;
  reverse: boolean;
  warnings: string[];
  /**
   * Materialized views the sending side had populated: populated on the
   * receiving side before the pause, refreshed there after the resume
   * (dependency order, CONCURRENTLY where a unique index allows), each timed.
   */
  views: { populated: MatviewRefresh[]; refreshed: MatviewRefresh[] };
  /**
   * The replication this move started the other way was proven working after
   * the resume. Switchover: every column the reverse publication publishes
   * exists on the source, and the source confirmed a mark written on the
   * target. Rollback: the target confirmed a mark written on the source
   * (forward replication runs again). False with the reason in
   * reverseProblem; absent when not checked (--no-reverse, or an earlier run finished).
   */
  reverseVerified?: boolean;
  reverseProblem?: string;
}

interface Sides {
  from: Side;
  to: Side;
  /** Subscription (on the "to" side) that feeds "to" from "from", and its slot on "from". */
  feed: string;
  feedSlot: string;
}

function sidesFor(direction: Direction, names: MigrationNames): Sides {
  return direction === 'switchover'
    ? { from: 'source', to: 'target', feed: names.subscription, feedSlot: names.slot }
    : { from: 'target', to: 'source', feed: names.reverseSubscription, feedSlot: names.reverseSlot };
}

class Session {
  fromAdmin!: Db;
  toAdmin!: Db;
  fromDb!: Db;
  toDb!: Db;
  /**
   * A second session on the migrated database of each side: inside the pause,
   * sequences and copies run on these beside catch-up, and the opposite slot is
   * made on toAux while the feeding subscription stops.
   */
  fromAux!: Db;
  toAux!: Db;
  async open(config: Config, database: string, s: Sides): Promise<void> {
    const ep = (side: Side) => (side === 'source' ? config.source : config.target);
    [this.fromAdmin, this.toAdmin, this.fromDb, this.toDb, this.fromAux, this.toAux] = await Promise.all([
      connect(s.from, ep(s.from), { database: maintenanceDb(config, s.from, database), applicationName: 'pgshift switchover' }),
      connect(s.to, ep(s.to), { database: maintenanceDb(config, s.to, database), applicationName: 'pgshift switchover' }),
      connect(s.from, ep(s.from), { database, applicationName: 'pgshift switchover' }),
      connect(s.to, ep(s.to), { database, applicationName: 'pgshift switchover' }),
      connect(s.from, ep(s.from), { database, applicationName: 'pgshift switchover' }),
      connect(s.to, ep(s.to), { database, applicationName: 'pgshift switchover' }),
    ]);
    // A lock held by someone else must fail a step with a message, not hang the switchover.
    // A readonly fence (this run's, an interrupted run's, or the switchover's that a rollback
    // undoes) is for clients: pgshift's own sessions must write, whenever they were opened.
    await Promise.all(this.all().map(async (d) => {
      await d.query("SET lock_timeout = '10s'");
      await d.query('SET default_transaction_read_only = off');
      // Catch-up's mark must be flushed before the walsender sends it, and its
      // flush on the receiving side is what makes the applied changes durable.
      await d.query('SET synchronous_commit = on');
    }));
  }
  private all(): Db[] {
    return [this.fromAdmin, this.toAdmin, this.fromDb, this.toDb, this.fromAux, this.toAux].filter(Boolean);
  }
  async close(): Promise<void> {
    await Promise.all(this.all().map((d) => d.close()));
  }
}

async function preflight(config: Config, database: string, dir: Direction, s: Sides, sess: Session, opts: Required<Pick<MoveOptions, 'maxLagBytes'>> & { method: PauseMethod; reverse: boolean; names: MigrationNames }, warnings: string[]): Promise<void> {
  const refuse = (msg: string, hint: string): never => {
    throw new ProblemError('switchover_preflight', `${dir} ${database}: ${msg}`, { hint });
  };
  const sub = await subscriptionState(sess.toDb, s.feed);
  const what = dir === 'switchover' ? 'forward' : 'reverse';
  if (!sub) refuse(`no ${what} subscription ${s.feed} on the ${s.to}`, dir === 'switchover' ? `Start replication first: pgshift start ${database}` : 'Rollback needs the reverse replication a switchover creates; there is none.');
  // A lost slot, an apply error (with its cause), schema drift, an apply worker making no progress: src/checks/replication-health.ts.
  const blocker = await replicationBlocker({ database, from: sess.fromDb, to: sess.toDb, feed: s.feed, feedSlot: s.feedSlot, drift: dir === 'switchover' ? { dbConfig: databaseConfig(config, database), publication: opts.names.publication } : undefined });
  if (blocker) refuse(blocker.message, blocker.hint);
  if (!sub!.enabled) refuse(`the ${what} subscription ${s.feed} is disabled`, `Enable it (ALTER SUBSCRIPTION ${quoteIdent(s.feed)} ENABLE) and let it catch up, then retry.`);
  if (sub!.not_ready.length) refuse(`${sub!.not_ready.length} table(s) are not ready yet: ${sub!.not_ready.slice(0, 5).join(', ')}`, `Wait for the initial copy: pgshift wait ${database}`);
  if (dir === 'switchover') {
    const deferred = await pendingDeferred(sess.toDb);
    if (deferred.length) refuse(`${deferred.length} NOT VALID CHECK constraint(s) of the source are not on the target yet (left out until the initial copy was done): ${deferred.slice(0, 5).map(checkLabel).join(', ')}`, `Run "pgshift wait ${database}": it adds them now that every table is ready.`);
  }
  if (!sub!.worker_pid) refuse(`the apply worker of ${s.feed} is not running (an apply error loop?)`, `Look at the ${s.to} server log and "pgshift status ${database}".`);
  const slot = await sess.fromDb.maybeOne<{ active: boolean; lag_bytes: string; wal_status: string | null }>(sqlFile('switchover-slot'), [s.feedSlot]);
  if (!slot) refuse(`the slot ${s.feedSlot} is missing on the ${s.from}`, `Replication is broken; "pgshift status ${database}" shows what is left.`);
  if (slot!.wal_status === 'lost') refuse(`the slot ${s.feedSlot} lost WAL it needed`, 'Replication must be started again: pgshift cleanup, then pgshift start.');
  if (!slot!.active) refuse(`the slot ${s.feedSlot} is not in use by the subscriber`, `Look at the ${s.to} server log.`);
  if (Number(slot!.lag_bytes) > opts.maxLagBytes) refuse(`replication lags by ${formatBytes(Number(slot!.lag_bytes))} (more than ${formatBytes(opts.maxLagBytes)})`, `Wait until it catches up: pgshift wait ${database}`);
  if (featuresOf(sess.toDb.version).subscriptionStats) {
    const q = 'SELECT apply_error_count::int8::text AS n FROM pg_catalog.pg_stat_subscription_stats WHERE subname = $1';
    const a = await sess.toDb.maybeOne<{ n: string }>(q, [s.feed]);
    await sleep(250);
    const b = await sess.toDb.maybeOne<{ n: string }>(q, [s.feed]);
    if (a && b && Number(b.n) > Number(a.n)) refuse(`the apply worker of ${s.feed} keeps failing (apply_error_count ${a.n} -> ${b.n})`, `Look at the ${s.to} server log and fix the cause first.`);
  }
  if (opts.reverse && dir === 'switchover') {
    // Reverse replication publishes from the side that takes the writes (the target);
    // after a rollback the source publishes, as it did since start.
    const wal = await sess.toDb.one<{ w: string }>("SELECT current_setting('wal_level') AS w");
    if (wal.w !== 'logical') refuse(`reverse replication needs wal_level = logical on the ${s.to} (it is ${wal.w})`, `Set wal_level = logical on the ${s.to} and restart it, or pass --no-reverse (no rollback possible then).`);
  }
  const gaps = await switchoverPrivilegeGaps({ database, method: opts.method, fenced: { side: s.from, admin: sess.fromAdmin }, other: { side: s.to, admin: sess.toAdmin }, reverse: opts.reverse && dir === 'switchover' });
  if (gaps.length) {
    throw new ProblemError('missing_privileges', `${dir} ${database}: ${gaps.map((g) => g.problem).join('; ')}`, {
      hint: `Nothing was changed. ${gaps.map((g) => g.fix).join('; ')}.`,
    });
  }
  if (opts.method === 'pgbouncer') {
    const pb = config.switchover.pgbouncer;
    if (!pb) refuse('pause method pgbouncer needs switchover.pgbouncer in the config', 'Add switchover.pgbouncer.admin and switchover.pgbouncer.config.');
    if (!pb!.config) refuse('pause method pgbouncer needs switchover.pgbouncer.config (the pgbouncer.ini pgshift repoints)', 'Add switchover.pgbouncer.config.');
    const name = pb!.database ?? database;
    let ini = '';
    try {
      ini = readFileSync(pb!.config!, 'utf8');
      accessSync(dirname(pb!.config!), fsConstants.W_OK);
    } catch (e) {
      refuse(`cannot read or replace ${pb!.config}: ${(e as Error).message}`, 'pgshift must be able to write the PgBouncer config file and its directory.');
    }
    if (!readDatabaseEntry(ini, name)) refuse(`${pb!.config} has no [databases] entry "${name}"`, 'Set switchover.pgbouncer.database to the PgBouncer name of this database.');
    const c = await BouncerConsole.open(pb!);
    try {
      const mode = (await c.command('SHOW CONFIG')).find((r) => r.key === 'pool_mode');
      if (mode && mode.value !== 'transaction') {
        warnings.push(`PgBouncer pool_mode is ${String(mode.value)}: PAUSE waits for every client session to end, not just the transactions; use transaction pooling for a short pause`);
      }
      const paused = await c.isPaused(name);
      if (paused === undefined) refuse(`PgBouncer has no database "${name}"`, 'Check switchover.pgbouncer.database.');
    } finally {
      await c.close();
    }
  }
}

async function ownPidsOf(sess: Session): Promise<number[]> {
  return Promise.all([sess.fromAdmin.pid(), sess.fromDb.pid(), sess.fromAux.pid()]);
}

/**
 * After a switchover, a disabled forward subscription whose slot does not
 * exist is one a rollback prepared before it was interrupted (prepareForward,
 * before its point of no return): it carries nothing, and status would take
 * it for stopped replication. It goes (detached from the slot it never had).
 */
async function dropPreparedForward(sess: Session, names: MigrationNames): Promise<void> {
  const sub = await subscriptionState(sess.toDb, names.subscription);
  if (!sub || sub.enabled || sub.worker_pid) return;
  const slot = await sess.fromDb.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [names.slot]);
  if (slot) return;
  await sess.toDb.query(`ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} SET (slot_name = NONE)`);
  await sess.toDb.query(`DROP SUBSCRIPTION ${quoteIdent(names.subscription)}`);
}

/** Drop the old feeding subscription: after writes resumed. */
async function afterResume(sess: Session, s: Sides, warnings: string[]): Promise<void> {
  try {
    await dropSubscription(sess.toDb, s.feed);
  } catch (e) {
    warnings.push(`could not drop the old subscription ${s.feed} on the ${s.to} (it is disabled): ${(e as Error).message}; "pgshift cleanup" removes it`);
  }
}

/** Refresh, on the side now taking writes, the materialized views the other side had populated (matviews.ts). */
async function refreshAfterResume(sess: Session, s: Sides, timeline: Timeline, emit: Emit, warnings: string[]): Promise<MatviewRefresh[]> {
  if ((await viewsToCarry(sess.fromDb, sess.toDb)).length === 0) return [];
  const refreshed = await timeline.phase('refresh-views', () => refreshViews(sess.fromDb, sess.toDb, emit), (r) => viewsSummary(r, 'refreshed'));
  for (const f of refreshed.filter((r) => r.error)) {
    warnings.push(`materialized view ${f.view} on the ${s.to} could not be refreshed: ${f.error}; it keeps ${f.concurrently ? 'its contents from before the switchover' : 'the contents it had'}: REFRESH MATERIALIZED VIEW it once the cause is fixed`);
  }
  return refreshed;
}

function viewsSummary(r: MatviewRefresh[], verb: string): string {
  const failed = r.filter((x) => x.error).length;
  const concurrent = r.filter((x) => !x.error && x.concurrently).length;
  return `${r.length - failed} materialized view(s) ${verb}${concurrent ? ` (${concurrent} concurrently)` : ''}${failed ? `, ${failed} failed` : ''}`;
}

export async function moveWrites(config: Config, database: string, direction: Direction, opts: MoveOptions = {}): Promise<MoveResult> {
  databaseConfig(config, database);
  const emit = opts.emit ?? silent;
  const names = namesFor(database);
  const s = sidesFor(direction, names);
  const method = opts.pause ?? config.switchover.pause;
  const maxPauseMs = opts.maxPauseMs ?? config.switchover.maxPauseMs;
  // Every move leaves replication running the other way (a switchover: target -> source; a
  // rollback: source -> target again), started at its own fence, unless told not to.
  const reverse = opts.reverse ?? config.switchover.reverse;
  const impl: PauseMethodImpl = PAUSE_IMPLS[method];
  const timeline = new Timeline(emit);
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    emit({ type: 'warn', message: m });
  };
  const sess = new Session();
  await sess.open(config, database, s);
  let populated: MatviewRefresh[] = [];
  let refreshed: MatviewRefresh[] = [];
  let reverseCheck: ReverseVerification | undefined;
  // One context per record: what the pause prepared (PgBouncer's console) and learnt (it paused) reaches the resume.
  const contexts = new Map<FenceRecord, FenceContext>();
  try {
    let rec = await readFence(sess.fromAdmin, database);
    const ctxFor = (r: FenceRecord): FenceContext => {
      let c = contexts.get(r);
      if (!c) contexts.set(r, (c = { config, database, side: s.from, admin: sess.fromAdmin, otherAdmin: sess.toAdmin, record: r, emit }));
      return c;
    };
    const result = (outcome: MoveResult['outcome'], extra: Partial<MoveResult> = {}): MoveResult => {
      const r: MoveResult = {
        database, direction, method: rec?.method ?? method, outcome, timeline: timeline.toJSON(), pauseMs: timeline.pauseMs, reverse, warnings,
        views: { populated, refreshed },
        ...(reverseCheck ? { reverseVerified: reverseCheck.verified, ...(reverseCheck.problem ? { reverseProblem: reverseCheck.problem } : {}) } : {}),
        ...extra,
      };
      emit({ type: 'result', data: moveOutcome(r) });
      return r;
    };

    // --- what an earlier run left behind ---
    // The other direction fences the other side, so its record is on the "to" side.
    const other = await readFence(sess.toAdmin, database);
    if (other && other.direction !== direction && other.phase !== 'done') {
      if (other.phase === 'committed') {
        throw new ProblemError(`interrupted_${other.direction}`, `${direction} ${database}: an interrupted ${other.direction} passed its point of no return and must be finished first`, {
          hint: unfenceHint(config, other),
        });
      }
      // Before its point of no return the other run changed nothing but the fence: lifting it is the whole undo.
      emit({ type: 'warn', message: `an interrupted ${other.direction} of ${database} left the ${s.to} fenced (${other.method}); lifting that fence: writes go to the ${s.to} again` });
      await undoLeftFence({ config, database, side: s.to, admin: sess.toAdmin, otherAdmin: sess.fromAdmin, record: other, emit });
      if (direction === 'switchover') await dropPreparedForward(sess, names);
      return result('undone-interrupted', { method: other.method });
    }
    if (rec && rec.direction === direction) {
      if (rec.phase === 'done') {
        // Killed after writes resumed but before the old subscription was dropped, or before the views were refreshed: finish that now.
        if (await subscriptionState(sess.toDb, s.feed)) await timeline.phase('cleanup-old', () => afterResume(sess, s, warnings));
        if ((await viewsToCarry(sess.fromDb, sess.toDb)).some((v) => !v.populated)) refreshed = await refreshAfterResume(sess, s, timeline, emit, warnings);
        if (direction === 'switchover') await dropPreparedForward(sess, names);
        return result('already-done');
      }
      const recImpl = PAUSE_IMPLS[rec.method];
      if (rec.phase === 'committed') {
        emit({ type: 'info', message: `an interrupted ${direction} of ${database} had passed its point of no return; finishing it` });
        timeline.pauseBegan();
        await finish(rec, recImpl);
        return result('finished-interrupted');
      }
      // Paused but not committed: the feeding subscription still runs, so give the writes back and start over.
      emit({ type: 'warn', message: `an interrupted ${direction} of ${database} left the ${s.from} fenced (${rec.method}); undoing that fence first` });
      await undoLeftFence(ctxFor(rec));
      rec = undefined;
    }
    if (direction === 'rollback' && !(other?.direction === 'switchover' && other.phase === 'done')) {
      throw new ProblemError('nothing_to_roll_back', `rollback ${database}: no finished switchover to roll back; writes go to the source`, {
        hint: `A switchover stopped before it paused writes changed nothing; "pgshift status ${database}" shows where replication stands, and "pgshift cleanup ${database}" removes what it prepared.`,
      });
    }

    // --- reverse replication must be able to carry every table to the source (reverse.ts) ---
    const reversePlan = reverse && direction === 'switchover' ? await planReverse(config, database, sess.fromDb, sess.toDb) : undefined;
    const refusal = reversePlan ? reverseRefusal(reversePlan) : undefined;
    if (refusal) throw new ProblemError('reverse_impossible', `${direction} ${database}: ${refusal.message}`, { hint: refusal.hint });
    for (const n of reversePlan?.narrowedOut ?? []) warn(`${n.schema}.${n.name} is not carried by reverse replication: ${n.reason}`);

    // --- before the pause: the views the side taking over must serve populated (matviews.ts) ---
    if ((await viewsToCarry(sess.fromDb, sess.toDb)).length > 0) {
      populated = await timeline.phase('populate-views', () => populateViews(sess.fromDb, sess.toDb, emit), (r) => viewsSummary(r, 'populated'));
    }
    const unpopulated = populated.filter((r) => r.error);
    if (unpopulated.length) {
      // sql-lint: safe (an error message, not SQL)
      throw new ProblemError('matview_populate_failed', `${direction} ${database}: ${unpopulated.length} materialized view(s) populated on the ${s.from} cannot be populated on the ${s.to}, which would then serve them unpopulated (a SELECT on them fails): ${unpopulated.slice(0, 5).map((r) => `${r.view} (${r.error})`).join('; ')}`, {
        hint: `Fix the cause on the ${s.to} (the error names it; e.g. a function the view calls is missing there), or drop the view there if nothing reads it, then retry. Writes were not paused.`,
      });
    }

    // --- preflight ---
    await timeline.phase('preflight', async () => {
      await preflight(config, database, direction, s, sess, { maxLagBytes: opts.maxLagBytes ?? 64 * 1024 * 1024, method, reverse, names }, warnings);
      if (reverse && direction === 'switchover') await prepareReverse(config, database, names, sess.fromDb, sess.toDb, emit, reversePlan);
      if (reverse && direction === 'rollback') await prepareForward(config, database, names, sess.toDb, sess.fromDb, emit);
    });
    // What replication into the "to" side does not carry, copied while writes are paused: for a
    // rollback, what the reverse publication leaves out (planned as prepareReverse did).
    const notCarried = direction === 'switchover'
      ? (await planPublication(sess.fromDb, databaseConfig(config, database))).notCarried
      : (await planReverse(config, database, sess.toDb, sess.fromDb)).notCarried;
    const ownPids = await ownPidsOf(sess);
    // Worked out before the pause, so the pause spends only the round trips it must.
    const sequencePlan = await planSequences(sess.fromDb, sess.toDb);
    // Connections are made before the pause: a revoke fence could refuse new ones.
    rec = { database, direction, method, phase: 'pausing', revoked: [], readonlyBefore: null, startedAt: '' };
    await writeFence(sess.fromAdmin, rec);
    const ctx = ctxFor(rec);
    if (method === 'pgbouncer') ctx.bouncer = await BouncerConsole.open(config.switchover.pgbouncer!);
    await impl.prepare?.(ctx);
    // The statements the pause runs, once now and read-only: each session's
    // catalog caches are warm, and the first check inside the pause costs what
    // the rest do.
    await Promise.all([
      otherSessions(sess.fromAdmin, database, ownPids),
      sess.fromDb.query(sqlFile('fence-prepared'), [database]),
      sess.toDb.query(sqlFile('subscription-received'), [s.feed]),
      ...sequencePlan.chunks.slice(0, 1).map((c) => sess.fromAux.query(c.readSql)),
    ]);

    // --- the budgeted part: pause, fence, catch-up; beside catch-up (still undoable) ---
    const budgetStart = performance.now();
    const deadline = budgetStart + maxPauseMs;
    timeline.pauseBegan();
    let lsn: string;
    let sequences: SequenceSync;
    let copied: CarriedTable[] = [];
    let largeObjects = 0;
    let missingCarried: string[] = [];
    try {
      await timeline.phase('pause', () => impl.pause(ctx, deadline), () => method);
      const proof = await timeline.phase('fence', () => proveFence(sess.fromAdmin, database, ownPids, deadline, { terminate: impl.terminates, second: sess.fromDb }), (p) => `${p.checks} check(s)`);
      for (const idle of proof.idle) warn(`session ${describeSession(idle)} is connected to the ${s.from} outside the pause method; it is idle now, but writes it makes later would not be carried`);
      // The record says "paused" while catch-up runs: two sessions, no waiting on each other.
      const recorded = setFencePhase(sess.fromAdmin, database, 'paused');
      recorded.catch(() => undefined);
      const catchUp = timeline.phase('catch-up', async () => {
        const c = await waitForApplied(sess.fromDb, sess.toDb, s.feed, deadline);
        await recorded;
        return c;
      }, (c) => `${c.lsn} applied in ${Math.round(c.appliedMs ?? 0)} ms, flushed in ${Math.round(c.flushMs ?? 0)} ms (${c.polls} polls)`);
      // Sequences and the tables replication cannot carry are read from the fenced side,
      // final now, and written where replication does not reach: they need not wait for
      // the apply, so they run beside catch-up on sessions of their own.
      const carry = (async () => {
        const sequencesSet = () => timeline.phase('sequences', () => applySequences(sess.fromAux, sess.toAux, sequencePlan), (r) => `${r.set} set`);
        const copy = () => timeline.phase('copy', async () => {
          const t = await copyTables(sess.fromAux, sess.toAux, notCarried);
          const lo = await copyLargeObjects(sess.fromAux, sess.toAux);
          return { ...t, lo };
        }, (r) => `${r.tables.length} table(s), ${r.lo} large object(s)`);
        // With no table to copy, copy only compares large objects: its statements and the
        // sequences' share the two sessions, each session running them in turn, so the
        // pause waits for two round trips instead of three (setval is not transactional,
        // so where they interleave changes nothing).
        if (notCarried.length === 0) {
          const [seq, carried] = await Promise.allSettled([sequencesSet(), copy()]);
          if (seq.status === 'rejected') throw seq.reason;
          if (carried.status === 'rejected') throw carried.reason;
          return { seq: seq.value, carried: carried.value };
        }
        const seq = await sequencesSet();
        return { seq, carried: await copy() };
      })();
      const [caught, carriedAll] = await Promise.allSettled([catchUp, carry]);
      if (caught.status === 'rejected') throw caught.reason;
      if (carriedAll.status === 'rejected') throw carriedAll.reason;
      lsn = caught.value.lsn;
      sequences = carriedAll.value.seq;
      copied = carriedAll.value.carried.tables;
      largeObjects = carriedAll.value.carried.lo;
      missingCarried = carriedAll.value.carried.missing;
    } catch (e) {
      if (e instanceof PauseTimeout || e instanceof FenceNotProven || e instanceof CatchUpTimeout) {
        await abort(ctx, e);
        throw new SafetyError('budget_exceeded', `${direction} of ${database} aborted: ${e.message}, and the budget of ${formatDuration(maxPauseMs)} (max_pause) ran out. Writes were given back to the ${s.from} after ${formatDuration(timeline.pauseMs ?? 0)}; replication keeps running; nothing was lost.`, {
          hint: 'Find what slows the fence or the apply (long transactions, locks on the target, lag), then retry, or allow more with --max-pause.',
          details: { timeline: timeline.toJSON() },
        });
      }
      await abort(ctx, e);
      throw e;
    }
    if (sequences.missing.length) warn(`sequences missing on the ${s.to}: ${sequences.missing.join(', ')}`);
    if (missingCarried.length) warn(`tables replication cannot carry are missing on the ${s.to} and were not copied: ${missingCarried.join(', ')}`);

    await finish(rec, impl, true);
    return result('done', { lsn, sequences, copied, largeObjects });

    async function abort(c: FenceContext, cause: unknown): Promise<void> {
      try {
        await timeline.phase('undo', () => impl.undo(c));
        timeline.pauseEnded();
        await deleteFence(sess.fromAdmin, database);
        emit({ type: 'result', data: { ...moveOutcome({ database, direction, method, outcome: 'done', timeline: timeline.toJSON(), pauseMs: timeline.pauseMs, reverse, warnings, views: { populated, refreshed } }), outcome: 'aborted', error: (cause as Error).message } });
      } catch (undoErr) {
        throw new SafetyError('unfence_failed', `${direction} of ${database} failed (${(cause as Error).message}) and giving writes back to the ${s.from} failed too: ${(undoErr as Error).message}`, {
          hint: unfenceHint(config, c.record),
          cause: undoErr,
        });
      }
    }

    /** fresh: this run paused and caught up just now (the feeding subscription is known to run). */
    async function finish(r: FenceRecord, im: PauseMethodImpl, fresh = false): Promise<void> {
      const c = ctxFor(r);
      try {
        // Point of no return: the feeding subscription stops; from here on the run finishes, never undoes.
        await setFencePhase(sess.fromAdmin, database, 'committed');
        const opposite = direction === 'switchover'
          ? { subscription: names.reverseSubscription, slot: names.reverseSlot }
          : { subscription: names.subscription, slot: names.slot };
        let slotMade = false;
        await timeline.phase('commit', async () => {
          const sub = fresh ? undefined : await subscriptionState(sess.toDb, s.feed);
          const stop = fresh || sub?.enabled || sub?.worker_pid ? stopSubscription(sess.toDb, s.feed, sess.fromDb) : Promise.resolve();
          // The opposite slot is made while the feeding apply worker stops: caught up
          // past the fence, it has nothing left to apply that could land after the
          // slot's start (pgshift's marks carry no change), and the tables copied
          // above were written before it. Its subscription is enabled only once the
          // worker is gone (the reverse phase), so nothing can loop.
          const slot = reverse && fresh ? createSlotIfMissing(sess.toAux, opposite.slot) : Promise.resolve();
          const [a, b] = await Promise.allSettled([stop, slot]);
          if (a.status === 'rejected') throw a.reason;
          if (b.status === 'rejected') throw b.reason;
          slotMade = reverse && fresh;
        });
        if (reverse) {
          await timeline.phase('reverse', async () => {
            // Replication the other way: the "from" side subscribes to the "to" side, from a
            // slot made at this move's fence (nothing before it is sent, nothing after it
            // missed). Prepared in preflight; only a run resumed after a crash may find it missing.
            if (!fresh && !(await subscriptionState(sess.fromDb, opposite.subscription))) {
              if (direction === 'switchover') await prepareReverse(config, database, names, sess.fromDb, sess.toDb);
              else await prepareForward(config, database, names, sess.toDb, sess.fromDb);
            }
            if (!slotMade) await createSlotIfMissing(sess.toDb, opposite.slot);
            await enableSubscription(sess.fromDb, opposite.subscription);
          });
        }
        // The previous move left the "to" side fenced (read before the pause): give it back its writes.
        const prev = other && other.direction !== direction && other.phase === 'done' ? other : undefined;
        await timeline.phase('resume', async () => {
          if (prev) {
            await undoRecordedFence(sess.toAdmin, prev);
            await deleteFenceRow(sess.toAdmin, database);
          }
          await im.resume(c);
        }, () => (method === 'pgbouncer' ? `PgBouncer now points at the ${s.to}` : undefined));
        timeline.pauseEnded();
        await setFencePhase(sess.fromAdmin, database, 'done');
        // Its bookkeeping table goes once empty, now that writes flow.
        if (prev) await deleteFence(sess.toAdmin, database);
      } catch (e) {
        const err = e instanceof PgshiftError ? e : undefined;
        throw new SafetyError('switchover_incomplete', `${direction} of ${database} stopped after its point of no return: ${(e as Error).message}`, {
          hint: unfenceHint(config, { ...r, phase: 'committed' }) + (err?.hint ? ` (${err.hint})` : ''),
          cause: e,
        });
      }
      await timeline.phase('cleanup-old', () => afterResume(sess, s, warnings));
      refreshed = await refreshAfterResume(sess, s, timeline, emit, warnings);
      if (reverse && direction === 'switchover') {
        // The rollback path is ready only once proven (reverse.ts verifyReverse).
        reverseCheck = await timeline.phase('verify-reverse', async () => {
          try {
            return await verifyReverse(names, sess.fromDb, sess.toDb);
          } catch (e) {
            return { verified: false, problem: `checking it failed: ${(e as Error).message}` };
          }
        }, (v) => (v.verified ? `the source applied the target's changes up to ${v.confirmed}` : 'NOT working'));
        if (!reverseCheck.verified) {
          warn(`reverse replication target -> source is not working: ${reverseCheck.problem}. A rollback cannot carry the target's writes until this is fixed ("pgshift status ${database}" shows it; pgshift rollback refuses meanwhile).`);
        }
      } else if (reverse) {
        // After a rollback: forward replication runs again only once the target confirms a mark written on the source.
        reverseCheck = await timeline.phase('verify-reverse', () => verifyForward(names, sess.toDb, sess.fromDb),
          (v) => (v.verified ? `the target applied the source's changes up to ${v.confirmed}` : 'NOT working'));
        if (!reverseCheck.verified) {
          warn(`replication source -> target is not working again: ${reverseCheck.problem}. A later switchover refuses until it is ("pgshift status ${database}" shows it).`);
        }
      }
    }
  } finally {
    await Promise.all([...contexts.values()].map((c) => c.bouncer?.close()));
    await sess.close();
  }
}

/** A run's result as the journal keeps it (a `result` event). */
function moveOutcome(r: MoveResult): Outcome & { kind: 'move' } {
  return {
    kind: 'move',
    database: r.database,
    direction: r.direction,
    method: r.method,
    outcome: r.outcome,
    ...(r.pauseMs !== undefined ? { pauseMs: r.pauseMs } : {}),
    totalMs: r.timeline.totalMs,
    phases: r.timeline.phases,
    ...(r.lsn ? { lsn: r.lsn } : {}),
    ...(r.sequences ? { sequences: r.sequences.set } : {}),
    copied: (r.copied ?? []).map((c) => ({ table: c.table, rows: c.rows })),
    largeObjects: r.largeObjects ?? 0,
    reverse: r.reverse,
    ...(r.reverseVerified !== undefined ? { reverseVerified: r.reverseVerified } : {}),
    ...(r.reverseProblem ? { reverseProblem: r.reverseProblem } : {}),
    ...(r.views.populated.length + r.views.refreshed.length > 0
      ? { views: { populated: r.views.populated.length, refreshed: r.views.refreshed.length, failed: [...r.views.populated, ...r.views.refreshed].filter((v) => v.error).length } }
      : {}),
    warnings: r.warnings,
  };
}

/** Lift a fence an interrupted run left, and forget it; on failure say how to lift it by hand. */
async function undoLeftFence(ctx: FenceContext): Promise<void> {
  try {
    await PAUSE_IMPLS[ctx.record.method].undo(ctx);
    await deleteFence(ctx.admin, ctx.database);
  } catch (e) {
    throw new SafetyError('unfence_failed', `giving writes back to the ${ctx.side} of ${ctx.database} (fenced by an interrupted ${ctx.record.direction}) failed: ${(e as Error).message}`, {
      hint: unfenceHint(ctx.config, ctx.record),
      cause: e,
    });
  }
}

export { maintenanceDb };
