// One database's part of a move (switchover or rollback): its sessions, what
// an earlier run left, its checks and preparations, and each phase of the
// dance on its own. move-writes.ts drives one Move per database through the
// phases together (one pause, one budget, one commit point), so a single
// database is simply a move of one.
//
// What was done is read back from the clusters, so a run killed at any
// point is finished (after the commit) or undone (before it) by the next.

import type { Config, PauseMethod } from '../config/config.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import type { DryRun } from '../pg/dry-run.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { PgshiftError, ProblemError, SafetyError, SqlError } from '../errors.js';
import { warnEvent, warning, type Emit, type Outcome } from '../events.js';
import { problem, type Problem, type WarningCode } from '../problems.js';
import { formatBytes } from '../util/duration.js';
import { sleep, type Deadline } from '../util/wait.js';
import { namesFor, type MigrationNames } from '../replication/names.js';
import { planPublication } from '../replication/publication.js';
import { subscriptionState } from '../replication/subscription.js';
import { databaseConfig } from '../config/config.js';
import { replicationBlocker } from '../checks/replication-health.js';
import { checkLabel, pendingDeferred } from '../checks/deferred-constraints.js';
import { Timeline } from './timeline.js';
import { PAUSE_IMPLS, undoRecordedFence, type FenceContext, type PauseMethodImpl } from './pause.js';
import { describeSession, otherSessions, proveFence } from './fence.js';
import { waitForApplied } from '../replication/catch-up.js';
import { applySequences, planSequences, type SequencePlan, type SequenceSync } from './sequences.js';
import { copyLargeObjects, copyTables, type CarriedTable } from './carry.js';
import { createSlotIfMissing, dropIdleSlot, enableSubscription, startAt, verifyForward, dropSubscription, planReverse, prepareForward, prepareReverse, reverseRefusal, stopSubscription, verifyReverse, type ReversePlan, type ReverseVerification } from './reverse.js';
import { populateViews, refreshViews, viewsToCarry, type MatviewRefresh } from './matviews.js';
import { deleteFence, deleteFenceRow, readFence, setFencePhase, writeFence, type Direction, type FenceRecord } from './state.js';
import type { SubscriptionState } from '../replication/subscription.js';
import { unfenceHint } from './fence-status.js';
import { switchoverPrivilegeGaps } from './privileges.js';
import { BouncerConsole, readDatabaseEntry } from './pgbouncer-admin.js';
import { readFileSync, accessSync, constants as fsConstants } from 'node:fs';
import { dirname } from 'node:path';

/** lock_timeout of every switchover session: a lock someone else holds fails a step with a message instead of hanging it. */
const LOCK_TIMEOUT_S = 10;

/** How long, at most, pgshift waits after the resume for the clients queued in the pause. */
const DRAIN_MAX_MS = 1000;

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
  warnings: Problem[];
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

/** What every database of one move shares. */
export interface MoveSettings {
  method: PauseMethod;
  maxPauseMs: number;
  reverse: boolean;
  maxLagBytes: number;
  emit: Emit;
  /** The shared clock's zero, so every database's timeline lines up. */
  t0: number;
  /** Name the database in phase events (several databases move at once). */
  labelled: boolean;
}

/** What to do about what an earlier run left (decided before anything is changed). */
export type Earlier =
  | { kind: 'move' }
  /** This direction's own run stopped before its point of no return: lift its fence, then move. */
  | { kind: 'restart' }
  /** The other direction stopped before its point of no return: lifting its fence is the whole undo. */
  | { kind: 'undo-other' }
  | { kind: 'already-done' }
  /** Past its point of no return: finish it. */
  | { kind: 'finish' }
  | { kind: 'refuse'; error: PgshiftError };

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
   * sequences and copies run on these beside catch-up.
   */
  fromAux!: Db;
  toAux!: Db;
  async open(config: Config, database: string, s: Sides, dryRun?: DryRun): Promise<void> {
    const ep = (side: Side) => (side === 'source' ? config.source : config.target);
    const o = { applicationName: 'pgshift switchover', ...(dryRun ? { dryRun } : {}) };
    const opened = await Promise.allSettled([
      connect(s.from, ep(s.from), { database: maintenanceDb(config, s.from, database), ...o }),
      connect(s.to, ep(s.to), { database: maintenanceDb(config, s.to, database), ...o }),
      connect(s.from, ep(s.from), { database, ...o }),
      connect(s.to, ep(s.to), { database, ...o }),
      connect(s.from, ep(s.from), { database, ...o }),
      connect(s.to, ep(s.to), { database, ...o }),
    ]);
    // Whatever opened is kept, so close() ends it when another connection failed.
    const dbs = opened.map((o) => (o.status === 'fulfilled' ? o.value : undefined)) as [Db, Db, Db, Db, Db, Db];
    [this.fromAdmin, this.toAdmin, this.fromDb, this.toDb, this.fromAux, this.toAux] = dbs;
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
    // A lock held by someone else must fail a step with a message, not hang the switchover.
    // A readonly fence (this run's, an interrupted run's, or the switchover's that a rollback
    // undoes) is for clients: pgshift's own sessions must write, whenever they were opened.
    await Promise.all(this.all().map(async (d) => {
      await d.query(`SET lock_timeout = '${LOCK_TIMEOUT_S}s'`); // sql-lint: safe (a numeric constant)
      await d.allowWrites();
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

/** What the pause produced for one database. */
interface Caught {
  lsn: string;
  sequences: SequenceSync;
  copied: CarriedTable[];
  largeObjects: number;
}

export class Move {
  readonly names: MigrationNames;
  readonly s: Sides;
  readonly impl: PauseMethodImpl;
  readonly timeline: Timeline;
  readonly warnings: Problem[] = [];
  readonly sess = new Session();
  populated: MatviewRefresh[] = [];
  refreshed: MatviewRefresh[] = [];
  reverseCheck?: ReverseVerification;
  /** This direction's fence record on the "from" side, and the other direction's on the "to" side. */
  rec?: FenceRecord;
  other?: FenceRecord;
  caught?: Caught;
  /** The "to" side's WAL position at the commit point: where replication the other way starts (state.ts). */
  oppositeFrom?: string;
  /** This database's part failed after its point of no return: it is finished by running the command again. */
  failure?: PgshiftError;
  private reversePlan?: ReversePlan;
  private notCarried: { schema: string; name: string }[] = [];
  private ownPids: number[] = [];
  private sequencePlan?: SequencePlan;
  /** One context per record: what the pause prepared (PgBouncer's console) and learnt (it paused) reaches the resume. */
  private readonly contexts = new Map<FenceRecord, FenceContext>();

  /** A dry run's plan of this database (its sessions record their changes here instead of making them). */
  readonly dry?: DryRun;

  constructor(readonly config: Config, readonly database: string, readonly direction: Direction, readonly o: MoveSettings, dry?: DryRun) {
    databaseConfig(config, database);
    this.names = namesFor(database);
    this.s = sidesFor(direction, this.names);
    this.impl = PAUSE_IMPLS[o.method];
    this.dry = dry;
    // A dry run's plan is grouped by the phases the statements belong to.
    this.timeline = new Timeline(o.emit, { t0: o.t0, ...(o.labelled ? { database } : {}), ...(dry ? { onPhase: (name: string) => dry.step(name) } : {}) });
  }

  warn(code: WarningCode, message: string, fix?: string): void {
    const w = problem(code, message, fix);
    this.warnings.push(w);
    this.o.emit(warnEvent(w, this.o.labelled ? { database: this.database } : {}));
  }

  ctxFor(r: FenceRecord): FenceContext {
    let c = this.contexts.get(r);
    if (!c) this.contexts.set(r, (c = { config: this.config, database: this.database, side: this.s.from, admin: this.sess.fromAdmin, otherAdmin: this.sess.toAdmin, record: r, emit: this.o.emit }));
    return c;
  }

  /** This run's fence context (after writeRecord). */
  get ctx(): FenceContext {
    return this.ctxFor(this.rec!);
  }

  get method(): PauseMethod {
    return this.rec?.method ?? this.o.method;
  }

  async open(): Promise<void> {
    await this.sess.open(this.config, this.database, this.s, this.dry);
  }

  async close(): Promise<void> {
    await Promise.all([...this.contexts.values()].map((c) => c.bouncer?.close()));
    await this.sess.close();
  }

  /** The result of this database's move, also emitted as a `result` event for the journal and metrics. */
  result(outcome: MoveResult['outcome'], extra: Partial<MoveResult> = {}): MoveResult {
    const r = this.resultData(outcome, extra);
    this.o.emit({ type: 'result', data: moveOutcome(r) });
    return r;
  }

  resultData(outcome: MoveResult['outcome'], extra: Partial<MoveResult> = {}): MoveResult {
    const c = this.caught;
    return {
      database: this.database, direction: this.direction, method: this.method, outcome, timeline: this.timeline.toJSON(), pauseMs: this.timeline.pauseMs,
      reverse: this.o.reverse, warnings: this.warnings, views: { populated: this.populated, refreshed: this.refreshed },
      ...(c ? { lsn: c.lsn, sequences: c.sequences, copied: c.copied, largeObjects: c.largeObjects } : {}),
      ...(this.reverseCheck ? { reverseVerified: this.reverseCheck.verified, ...(this.reverseCheck.problem ? { reverseProblem: this.reverseCheck.problem } : {}) } : {}),
      ...extra,
    };
  }

  /** The journal's record of a move given back (budget or failure before the point of no return). */
  emitAborted(cause: unknown): void {
    this.o.emit({ type: 'result', data: { ...moveOutcome(this.resultData('done')), outcome: 'aborted', error: (cause as Error).message } });
  }

  // --- what an earlier run left behind ---

  async readEarlier(): Promise<void> {
    // The other direction fences the other side, so its record is on the "to" side.
    [this.rec, this.other] = await Promise.all([readFence(this.sess.fromAdmin, this.database), readFence(this.sess.toAdmin, this.database)]);
  }

  decideEarlier(): Earlier {
    const { rec, other, direction, database, config } = this;
    if (other && other.direction !== direction && other.phase !== 'done') {
      if (other.phase !== 'committed') return { kind: 'undo-other' };
      return { kind: 'refuse', error: new ProblemError(`interrupted_${other.direction}`, `${direction} ${database}: an interrupted ${other.direction} passed its point of no return and must be finished first`, { hint: unfenceHint(config, other) }) };
    }
    if (rec && rec.direction === direction) {
      if (rec.phase === 'done') return { kind: 'already-done' };
      if (rec.phase === 'committed') return { kind: 'finish' };
      return { kind: 'restart' };
    }
    if (direction === 'rollback' && !(other?.direction === 'switchover' && other.phase === 'done')) {
      return { kind: 'refuse', error: new ProblemError('nothing_to_roll_back', `rollback ${database}: no finished switchover to roll back; writes go to the source`, {
        hint: `A switchover stopped before it paused writes changed nothing; "pgshift status ${database}" shows where replication stands, and "pgshift cleanup ${database}" removes what it prepared.`,
      }) };
    }
    return { kind: 'move' };
  }

  /** Before its point of no return the other run changed nothing but the fence: lifting it is the whole undo. */
  async undoOther(): Promise<MoveResult> {
    const other = this.other!;
    this.o.emit(warning('interrupted_fence_lifted', `an interrupted ${other.direction} of ${this.database} left the ${this.s.to} fenced (${other.method}); lifting that fence: writes go to the ${this.s.to} again`));
    // The other direction's opposite replication is this direction's feed: its slot, made before
    // that pause, goes first (the record that says so goes with the fence).
    await this.dropUnusedSlot(this.sess.fromDb, this.s.feedSlot, this.sess.toDb, this.s.feed);
    await undoLeftFence({ config: this.config, database: this.database, side: this.s.to, admin: this.sess.toAdmin, otherAdmin: this.sess.fromAdmin, record: other, emit: this.o.emit });
    if (this.direction === 'switchover') await this.dropPreparedForward();
    return this.result('undone-interrupted', { method: other.method });
  }

  /** Paused but not committed: the feeding subscription still runs, so give the writes back and start over. */
  async undoOwn(): Promise<void> {
    const rec = this.rec!;
    this.o.emit(warning('interrupted_fence_lifted', `an interrupted ${this.direction} of ${this.database} left the ${this.s.from} fenced (${rec.method}); undoing that fence first`));
    await this.dropOppositeSlot();
    await undoLeftFence(this.ctxFor(rec));
    this.rec = undefined;
  }

  /** The opposite slot made before the pause, for a move given back before its commit point: it would hold WAL on the "to" side for nothing. */
  async dropOppositeSlot(): Promise<void> {
    await this.dropUnusedSlot(this.sess.toDb, this.opposite.slot, this.sess.fromDb, this.opposite.subscription);
  }

  /** The same, where a failure to drop must not hide why the move was given back: a warning naming cleanup. */
  async dropOppositeSlotOrWarn(): Promise<void> {
    await this.dropOppositeSlot().catch((e: Error) => this.warn('opposite_slot_left', `slot of the replication back could not be dropped on the ${this.s.to}: ${e.message}`, `"pgshift cleanup ${this.database}" drops it`));
  }

  /** Drop a slot no running subscription uses (only a disabled or missing subscription names it). */
  private async dropUnusedSlot(publisher: Db, slot: string, subscriber: Db, subscription: string): Promise<void> {
    const sub = await subscriptionState(subscriber, subscription);
    if (sub?.enabled || sub?.worker_pid) return;
    await dropIdleSlot(publisher, slot);
  }

  /** Killed after writes resumed but before the old subscription was dropped, or before the views were refreshed: finish that now. */
  async tidyDone(): Promise<MoveResult> {
    if (await subscriptionState(this.sess.toDb, this.s.feed)) await this.timeline.phase('cleanup-old', () => this.dropOldFeed());
    if ((await viewsToCarry(this.sess.fromDb, this.sess.toDb)).some((v) => !v.populated)) await this.refreshAfterResume();
    if (this.direction === 'switchover') await this.dropPreparedForward();
    return this.result('already-done');
  }

  /**
   * After a switchover, a disabled forward subscription whose slot does not
   * exist is one a rollback prepared before it was interrupted (prepareForward,
   * before its point of no return): it carries nothing, and status would take
   * it for stopped replication. It goes (detached from the slot it never had).
   */
  private async dropPreparedForward(): Promise<void> {
    const { sess, names } = this;
    const sub = await subscriptionState(sess.toDb, names.subscription);
    if (!sub || sub.enabled || sub.worker_pid) return;
    const slot = await sess.fromDb.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [names.slot]);
    if (slot) return;
    await sess.toDb.change(`ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} SET (slot_name = NONE)`);
    await sess.toDb.change(`DROP SUBSCRIPTION ${quoteIdent(names.subscription)}`);
  }

  // --- before the pause ---

  /** Reverse replication must be able to carry every table to the source (reverse.ts); the views the side taking over must serve populated (matviews.ts). */
  async beforePreflight(): Promise<void> {
    const { direction, database, sess, s } = this;
    this.reversePlan = this.o.reverse && direction === 'switchover' ? await planReverse(this.config, database, sess.fromDb, sess.toDb) : undefined;
    const refusal = this.reversePlan ? reverseRefusal(this.reversePlan) : undefined;
    if (refusal) throw new ProblemError('reverse_impossible', `${direction} ${database}: ${refusal.message}`, { hint: refusal.hint });
    for (const n of this.reversePlan?.narrowedOut ?? []) this.warn('table_not_reversed', `${n.schema}.${n.name} is not carried by reverse replication: ${n.reason}`);
    if ((await viewsToCarry(sess.fromDb, sess.toDb)).length > 0) {
      this.populated = await this.timeline.phase('populate-views', () => populateViews(sess.fromDb, sess.toDb, this.o.emit), (r) => viewsSummary(r, 'populated'));
    }
    const unpopulated = this.populated.filter((r) => r.error);
    if (unpopulated.length) {
      // sql-lint: safe (an error message, not SQL)
      throw new ProblemError('matview_populate_failed', `${direction} ${database}: ${unpopulated.length} materialized view(s) populated on the ${s.from} cannot be populated on the ${s.to}, which would then serve them unpopulated (a SELECT on them fails): ${unpopulated.slice(0, 5).map((r) => `${r.view} (${r.error})`).join('; ')}`, {
        hint: `Fix the cause on the ${s.to} (the error names it; e.g. a function the view calls is missing there), or drop the view there if nothing reads it, then retry. Writes were not paused.`,
      });
    }
  }

  /** The preflight's checks (read-only: refuse with the reason). */
  async checks(): Promise<void> {
    await preflight(this.config, this.database, this.direction, this.s, this.sess, { maxLagBytes: this.o.maxLagBytes, method: this.o.method, reverse: this.o.reverse, names: this.names }, (code, message, fix) => this.warn(code, message, fix));
  }

  /** The replication the other way, prepared disabled, once every database passed its checks. */
  async prepareOpposite(): Promise<void> {
    const { config, database, names, sess } = this;
    if (this.o.reverse && this.direction === 'switchover') await prepareReverse(config, database, names, sess.fromDb, sess.toDb, this.o.emit, this.reversePlan);
    if (this.o.reverse && this.direction === 'rollback') await prepareForward(config, database, names, sess.toDb, sess.fromDb, this.o.emit);
  }

  /** Worked out before the pause, so the pause spends only the round trips it must. */
  async plan(): Promise<void> {
    const { sess, config, database } = this;
    // What replication into the "to" side does not carry, copied while writes are paused: for a
    // rollback, what the reverse publication leaves out (planned as prepareReverse did).
    this.notCarried = this.direction === 'switchover'
      ? (await planPublication(sess.fromDb, databaseConfig(config, database))).notCarried
      : (await planReverse(config, database, sess.toDb, sess.fromDb)).notCarried;
    this.ownPids = await Promise.all([sess.fromAdmin.pid(), sess.fromDb.pid(), sess.fromAux.pid()]);
    this.sequencePlan = await planSequences(sess.fromDb, sess.toDb);
  }

  /** The fence record, written before the fence; then what the pause needs, opened and warmed. */
  async writeRecord(): Promise<void> {
    this.dry?.step('fence record');
    this.rec = { database: this.database, direction: this.direction, method: this.o.method, phase: 'pausing', revoked: [], readonlyBefore: null, startedAt: '' };
    await writeFence(this.sess.fromAdmin, this.rec);
  }

  /**
   * The opposite slot, made after the record (a run given back drops it) and
   * outside the pause: making it waits for every transaction on the "to"
   * cluster that holds a transaction id. It starts at the commit point (startOpposite).
   */
  async makeOppositeSlot(): Promise<void> {
    if (!this.o.reverse) return;
    const { sess, s, database } = this;
    const { slot } = this.opposite;
    this.dry?.step('opposite slot');
    try {
      await createSlotIfMissing(sess.toAux, slot);
    } catch (e) {
      if (!(e instanceof SqlError && e.sqlstate === '55P03')) throw e;
      const holders = await sess.toAdmin.query<{ pid: number; datname: string | null; usename: string | null; application_name: string; backend_type: string; age: string }>(
        `SELECT pid, datname, usename, application_name, backend_type, (pg_catalog.clock_timestamp() - xact_start)::text AS age
           FROM pg_catalog.pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_catalog.pg_backend_pid() ORDER BY xact_start LIMIT 5`);
      const who = holders.map((h) => `pid ${h.pid} (${h.backend_type === 'client backend' ? `${h.usename ?? '?'}@${h.datname ?? '?'}${h.application_name ? `, ${h.application_name}` : ''}` : h.backend_type}, for ${h.age})`).join('; ');
      throw new ProblemError('opposite_slot_wait', `${this.direction} ${database}: making slot ${slot} on the ${s.to} (replication back to the ${s.from}) waited ${LOCK_TIMEOUT_S} s for transactions there that hold a transaction id${who ? `: ${who}` : ''}`, {
        hint: `A slot starts only after every such transaction ends. End or wait for them (an apply worker waiting on a lock shows here: find what holds the lock), then retry. Writes were not paused; nothing was changed.`,
        cause: e,
      });
    }
  }

  async warm(): Promise<void> {
    const { sess, database, s } = this;
    // Connections are made before the pause: a revoke fence could refuse new ones.
    if (this.o.method === 'pgbouncer') this.ctx.bouncer = await BouncerConsole.open(this.config.switchover.pgbouncer!);
    // The statements the pause runs, once now and read-only: each session's
    // catalog caches are warm, and the first check inside the pause costs what
    // the rest do.
    await Promise.all([
      otherSessions(sess.fromAdmin, database, this.ownPids),
      sess.fromDb.query(sqlFile('fence-prepared'), [database]),
      sess.toDb.query(sqlFile('subscription-received'), [s.feed]),
      ...this.sequencePlan!.chunks.slice(0, 1).map((c) => sess.fromAux.query(c.readSql)),
    ]);
    // Last before the pause: PgBouncer must have no server login in flight for the database (pause.ts).
    await this.impl.prepare?.(this.ctx);
  }

  // --- inside the pause, before the point of no return (budget: deadline) ---

  /** Pause, prove the fence, catch up; sequences and copies beside catch-up. */
  async pauseAndCatchUp(deadline: Deadline): Promise<void> {
    const { timeline, sess, s, database } = this;
    timeline.pauseBegan();
    await timeline.phase('pause', () => this.impl.pause(this.ctx, deadline), () => this.o.method);
    if (this.dry) return this.planCatchUp();
    const proof = await timeline.phase('fence', () => proveFence(sess.fromAdmin, database, this.ownPids, deadline, { terminate: this.impl.terminates, second: sess.fromDb }), (p) => `${p.checks} check(s)`);
    for (const idle of proof.idle) this.warn('session_outside_pause', `session ${describeSession(idle)} is connected to the ${s.from} outside the pause method; it is idle now, but writes it makes later would not be carried (one made in the milliseconds before the feed stops, after the commit point, would reach the ${s.to} and, without origin filtering on both sides (16+), come back once replication runs the other way)`, 'End it, or make it connect through the pause method, before switching over');
    // The record says "paused" while catch-up runs: two sessions, no waiting on each other.
    const recorded = setFencePhase(sess.fromAdmin, database, 'paused');
    recorded.catch(() => undefined);
    const catchUp = timeline.phase('catch-up', async () => {
      const c = await waitForApplied(sess.fromDb, sess.toDb, s.feed, deadline);
      await recorded;
      return c;
    }, (c) => `${c.lsn} applied in ${Math.round(c.appliedMs ?? 0)} ms, flushed in ${Math.round(c.flushMs ?? 0)} ms (${c.polls} polls)`);
    const [caught, carried] = await Promise.allSettled([catchUp, this.carry()]);
    if (caught.status === 'rejected') throw caught.reason;
    if (carried.status === 'rejected') throw carried.reason;
    await this.readOppositeFrom();
    const { seq, tables, lo, missing } = carried.value;
    this.caught = { lsn: caught.value.lsn, sequences: seq, copied: tables, largeObjects: lo };
    if (seq.missing.length) this.warn('sequences_missing', `sequences missing on the ${s.to}: ${seq.missing.join(', ')}`);
    if (missing.length) this.warn('carried_tables_missing', `tables replication cannot carry are missing on the ${s.to} and were not copied: ${missing.join(', ')}`);
  }

  /**
   * A dry run inside the pause: the fence proof and the catch-up wait on a
   * pause that did not happen, so they are described here, next to the code
   * above they stand for (keep the two together); the record's phase, the
   * sequences and the copies go through the same code as a real run.
   */
  private async planCatchUp(): Promise<void> {
    const { timeline, sess, s, database, dry } = this;
    await timeline.phase('fence', async () => {
      dry!.note(s.from, database, `proveFence: reads pg_stat_activity and pg_prepared_xacts until no session of ${database} but pgshift's holds a transaction or runs a statement${this.impl.terminates ? ' (sessions still connected are ended with pg_terminate_backend)' : ''}; within max_pause, else writes are given back`);
    });
    await setFencePhase(sess.fromAdmin, database, 'paused');
    await timeline.phase('catch-up', async () => {
      dry!.note(s.from, database, `waitForApplied: a mark written into the ${s.from}'s WAL (SELECT pg_catalog.pg_logical_emit_message(true, 'pgshift', 'fence')), then wait until subscription ${s.feed} on the ${s.to} applied and flushed past it`); // sql-lint: safe (a note for the plan, not SQL)
    });
    const { seq, tables, lo } = await this.carry();
    await this.readOppositeFrom();
    this.caught = { lsn: '(dry run)', sequences: seq, copied: tables, largeObjects: lo };
  }

  /**
   * The "to" side's WAL position once it applied everything up to the fence
   * and took the copies: everything the feeding subscription applied there
   * committed before it, and every write it takes after the resume commits
   * after it. Replication the other way starts there (startOpposite).
   */
  private async readOppositeFrom(): Promise<void> {
    if (!this.o.reverse) return;
    this.oppositeFrom = (await this.sess.toDb.one<{ lsn: string }>('SELECT pg_catalog.pg_current_wal_insert_lsn()::text AS lsn')).lsn;
  }

  /**
   * Sequences and the tables replication cannot carry are read from the fenced side,
   * final now, and written where replication does not reach: they need not wait for
   * the apply, so they run beside catch-up on sessions of their own.
   */
  private async carry(): Promise<{ seq: SequenceSync; tables: CarriedTable[]; lo: number; missing: string[] }> {
    const { timeline, sess } = this;
    const sequences = () => timeline.phase('sequences', () => applySequences(sess.fromAux, sess.toAux, this.sequencePlan!), (r) => `${r.set} set`);
    const copy = () => timeline.phase('copy', async () => {
      const t = await copyTables(sess.fromAux, sess.toAux, this.notCarried);
      const lo = await copyLargeObjects(sess.fromAux, sess.toAux);
      return { ...t, lo };
    }, (r) => `${r.tables.length} table(s), ${r.lo} large object(s)`);
    // With no table to copy, copy only compares large objects: its statements and the
    // sequences' share the two sessions, each session running them in turn, so the
    // pause waits for two round trips instead of three (setval is not transactional,
    // so where they interleave changes nothing).
    if (this.notCarried.length === 0) {
      const [seq, carried] = await Promise.allSettled([sequences(), copy()]);
      if (seq.status === 'rejected') throw seq.reason;
      if (carried.status === 'rejected') throw carried.reason;
      return { seq: seq.value, tables: carried.value.tables, lo: carried.value.lo, missing: carried.value.missing };
    }
    const seq = await sequences();
    const carried = await copy();
    return { seq, tables: carried.tables, lo: carried.lo, missing: carried.missing };
  }

  /** Give the "from" side its writes back and forget the record (the record's deletion is the caller's, one at a time). */
  async undoFence(): Promise<void> {
    await this.timeline.phase('undo', () => this.impl.undo(this.ctx));
    this.timeline.pauseEnded();
  }

  unfenceFailed(cause: unknown, undoErr: unknown): SafetyError {
    return new SafetyError('unfence_failed', `${this.direction} of ${this.database} failed (${(cause as Error).message}) and giving writes back to the ${this.s.from} failed too: ${(undoErr as Error).message}`, {
      hint: unfenceHint(this.config, this.ctx.record),
      cause: undoErr,
    });
  }

  // --- the point of no return and after it ---

  /**
   * Right after the resume: let the clients queued in the pause through first
   * (pause.ts drain), for at most DRAIN_MAX_MS; what follows decodes WAL and
   * would take CPU from the logins they wait for.
   */
  async drain(): Promise<void> {
    const impl = PAUSE_IMPLS[this.method];
    if (!impl.drain) return;
    // Only a courtesy to the clients: a console that fails or does not answer here fails nothing.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<{ ms: number; drained: boolean; error: string }>((resolve) => {
      timer = setTimeout(() => resolve({ ms: DRAIN_MAX_MS * 2, drained: false, error: 'PgBouncer did not answer' }), DRAIN_MAX_MS * 2);
    });
    await this.timeline.phase('drain', () => Promise.race([impl.drain!(this.ctx, DRAIN_MAX_MS).catch((e: Error) => ({ ms: 0, drained: false, error: e.message })), stuck]).finally(() => clearTimeout(timer)),
      (r) => (r.drained ? 'the clients queued in the pause were served' : 'error' in r ? `could not look (${r.error}); going on` : `clients still queued after ${DRAIN_MAX_MS} ms; going on`));
  }

  /**
   * After the resume: stop the feeding subscription (fresh: this run caught up
   * just now, the subscription is known to run). Caught up past the fence, it
   * has had nothing to apply since (the "from" side takes no writes); it must be
   * gone before the opposite subscription is enabled (the reverse phase), so
   * nothing can loop.
   */
  async stopFeed(fresh: boolean): Promise<void> {
    const { sess, s } = this;
    await this.timeline.phase('stop-feed', async () => {
      const sub = fresh ? undefined : await subscriptionState(sess.toDb, s.feed);
      if (fresh || sub?.enabled || sub?.worker_pid) await stopSubscription(sess.toDb, s.feed, sess.fromDb);
    });
  }

  private get opposite(): { subscription: string; slot: string } {
    return this.direction === 'switchover'
      ? { subscription: this.names.reverseSubscription, slot: this.names.reverseSlot }
      : { subscription: this.names.subscription, slot: this.names.slot };
  }

  /**
   * Replication the other way: the "from" side subscribes to the "to" side
   * from the commit point's position (reverse.ts startAt: nothing the feeding
   * subscription applied before it is sent back, no write taken after it is
   * missed), once the feeding subscription is gone (stopFeed).
   */
  async startOpposite(fresh: boolean): Promise<void> {
    if (!this.o.reverse) {
      // Told not to, finishing a run that made the opposite slot before its pause: it goes.
      if (!fresh) await this.dropOppositeSlot();
      return;
    }
    const { sess, config, database, names, s } = this;
    const { slot, subscription } = this.opposite;
    await this.timeline.phase('reverse', async () => {
      let sub: SubscriptionState | undefined = await subscriptionState(sess.fromDb, subscription);
      // Prepared in preflight; only a run resumed after a crash may find it missing.
      if (!fresh && !sub) {
        if (this.direction === 'switchover') await prepareReverse(config, database, names, sess.fromDb, sess.toDb);
        else await prepareForward(config, database, names, sess.toDb, sess.fromDb);
        sub = await subscriptionState(sess.fromDb, subscription);
      }
      if (sub?.enabled) return;
      const from = this.oppositeFrom ?? this.rec?.oppositeFrom ?? null;
      // Made before this run's pause (warm); a run finishing an interrupted one checks.
      if (!fresh && await createSlotIfMissing(sess.toDb, slot)) {
        this.warn('opposite_slot_remade', `slot ${slot} on the ${s.to} (replication to the ${s.from}) was missing and was made only now: writes the ${s.to} took since the interrupted run resumed them may not reach the ${s.from}`, `"pgshift verify ${database}" shows any difference`);
      } else if (from) {
        await startAt(sess.toDb, sess.fromDb, slot, subscription, from);
      }
      await enableSubscription(sess.fromDb, subscription);
    });
  }

  /** The previous move left the "to" side fenced (read before the pause). */
  get prevFence(): FenceRecord | undefined {
    const other = this.other;
    return other && other.direction !== this.direction && other.phase === 'done' ? other : undefined;
  }

  /** Give the "to" side back the writes the previous move fenced there. */
  async liftPrevFence(): Promise<void> {
    const prev = this.prevFence;
    if (!prev) return;
    await undoRecordedFence(this.sess.toAdmin, prev);
    await deleteFenceRow(this.sess.toAdmin, this.database);
  }

  async markDone(): Promise<void> {
    this.dry?.step('done');
    this.timeline.pauseEnded();
    await setFencePhase(this.sess.fromAdmin, this.database, 'done');
  }

  /** Its bookkeeping table goes once empty, now that writes flow (one database at a time: the table may be dropped). */
  async forgetPrevFence(): Promise<void> {
    if (this.prevFence) await deleteFence(this.sess.toAdmin, this.database);
  }

  incomplete(e: unknown, r: FenceRecord): SafetyError {
    const err = e instanceof PgshiftError ? e : undefined;
    return new SafetyError('switchover_incomplete', `${this.direction} of ${this.database} stopped after its point of no return: ${(e as Error).message}`, {
      hint: unfenceHint(this.config, { ...r, phase: 'committed' }) + (err?.hint ? ` (${err.hint})` : ''),
      cause: e,
    });
  }

  /** After writes resumed: drop the old feed, refresh the views, prove the replication the other way. */
  async afterResume(): Promise<void> {
    await this.timeline.phase('cleanup-old', () => this.dropOldFeed());
    await this.refreshAfterResume();
    if (!this.o.reverse) return;
    const { names, sess, database } = this;
    if (this.dry) {
      // Verifying writes a mark and waits for the other side to apply it: only the real run can.
      this.dry.step('verify-reverse');
      this.dry.note(this.s.to, database, `verify: a mark written on the ${this.s.to}, then wait until the ${this.s.from} applied it (replication ${this.s.to} -> ${this.s.from} proven)`);
      return;
    }
    if (this.direction === 'switchover') {
      // The rollback path is ready only once proven (reverse.ts verifyReverse).
      this.reverseCheck = await this.timeline.phase('verify-reverse', async () => {
        try {
          return await verifyReverse(names, sess.fromDb, sess.toDb);
        } catch (e) {
          return { verified: false, problem: `checking it failed: ${(e as Error).message}` };
        }
      }, (v) => (v.verified ? `the source applied the target's changes up to ${v.confirmed}` : 'NOT working'));
      if (!this.reverseCheck.verified) {
        this.warn('reverse_not_working', `reverse replication target -> source is not working: ${this.reverseCheck.problem}. A rollback cannot carry the target's writes until this is fixed ("pgshift status ${database}" shows it; pgshift rollback refuses meanwhile).`);
      }
      return;
    }
    // After a rollback: forward replication runs again only once the target confirms a mark written on the source.
    this.reverseCheck = await this.timeline.phase('verify-reverse', () => verifyForward(names, sess.toDb, sess.fromDb),
      (v) => (v.verified ? `the target applied the source's changes up to ${v.confirmed}` : 'NOT working'));
    if (!this.reverseCheck.verified) {
      this.warn('forward_not_working', `replication source -> target is not working again: ${this.reverseCheck.problem}. A later switchover refuses until it is ("pgshift status ${database}" shows it).`);
    }
  }

  /** Drop the old feeding subscription: after writes resumed. */
  private async dropOldFeed(): Promise<void> {
    try {
      await dropSubscription(this.sess.toDb, this.s.feed);
    } catch (e) {
      this.warn('old_subscription_not_dropped', `could not drop the old subscription ${this.s.feed} on the ${this.s.to} (it is disabled): ${(e as Error).message}`, '"pgshift cleanup" removes it');
    }
  }

  /** Refresh, on the side now taking writes, the materialized views the other side had populated (matviews.ts). */
  private async refreshAfterResume(): Promise<void> {
    const { sess, s } = this;
    if ((await viewsToCarry(sess.fromDb, sess.toDb)).length === 0) return;
    this.refreshed = await this.timeline.phase('refresh-views', () => refreshViews(sess.fromDb, sess.toDb, this.o.emit), (r) => viewsSummary(r, 'refreshed'));
    for (const f of this.refreshed.filter((r) => r.error)) {
      this.warnings.push(problem('matview_not_refreshed', `materialized view ${f.view} on the ${s.to} could not be refreshed: ${f.error}; it keeps ${f.concurrently ? 'its contents from before the switchover' : 'the contents it had'}`, 'REFRESH MATERIALIZED VIEW it once the cause is fixed'));
    }
  }
}

async function preflight(config: Config, database: string, dir: Direction, s: Sides, sess: Session, opts: { maxLagBytes: number; method: PauseMethod; reverse: boolean; names: MigrationNames }, warn: Move['warn']): Promise<void> {
  const refuse = (msg: string, hint: string): never => {
    throw new ProblemError('switchover_preflight', `${dir} ${database}: ${msg}`, { hint });
  };
  const sub = await subscriptionState(sess.toDb, s.feed);
  const what = dir === 'switchover' ? 'forward' : 'reverse';
  if (!sub) refuse(`no ${what} subscription ${s.feed} on the ${s.to}`, dir === 'switchover' ? `Start replication first: pgshift start ${database}` : 'Rollback needs the reverse replication a switchover creates; there is none.');
  // A lost slot, an apply error (with its cause), schema drift, an apply worker making no progress: src/steps/replication-health.ts.
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
  if (opts.method === 'pgbouncer') await bouncerPreflight(config, database, refuse, warn);
}

async function bouncerPreflight(config: Config, database: string, refuse: (msg: string, hint: string) => never, warn: Move['warn']): Promise<void> {
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
      warn('pgbouncer_pool_mode', `PgBouncer pool_mode is ${String(mode.value)}: PAUSE waits for every client session to end, not just the transactions`, 'use transaction pooling for a short pause');
    }
    const paused = await c.isPaused(name);
    if (paused === undefined) refuse(`PgBouncer has no database "${name}"`, 'Check switchover.pgbouncer.database.');
  } finally {
    await c.close();
  }
}

function viewsSummary(r: MatviewRefresh[], verb: string): string {
  const failed = r.filter((x) => x.error).length;
  const concurrent = r.filter((x) => !x.error && x.concurrently).length;
  return `${r.length - failed} materialized view(s) ${verb}${concurrent ? ` (${concurrent} concurrently)` : ''}${failed ? `, ${failed} failed` : ''}`;
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
