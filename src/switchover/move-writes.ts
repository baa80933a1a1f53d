// The switchover dance, written once for both directions and for any number
// of databases: switchover moves writes from the source to the target (the
// forward subscription feeds the target), rollback moves them back (the
// reverse subscription feeds the source). The "from" side is the one whose
// writes are paused and fenced. Each database is a Move (move-one.ts); they
// go through the phases together, a single database being a move of one:
//
//   preflight of every database (all pass, or nothing starts)
//   -> pause -> fence proof -> catch-up, every database at once  (one budget: max_pause)
//   -> sequences -> copy what replication cannot carry          (still undoable)
//      any database failing or late: every one gets its writes back
//   -> commit: the point of no return of every database, one statement per
//      cluster's bookkeeping database (with where reverse replication starts)
//   -> resume on the other side (PgBouncer: one RELOAD): the pause ends here
//   -> stop the feeding subscriptions -> reverse replication from the commit point
//   -> afterwards: drop the old subscriptions, refresh materialized views
//
// Each database keeps its own fence record, so a run killed at any point is
// finished (after its commit) or undone (before it) per database by the next.

import { performance } from 'node:perf_hooks';
import type { Config, PauseMethod } from '../config/config.js';
import { PgshiftError, ProblemError, SafetyError, UsageError } from '../errors.js';
import { silent, type Emit } from '../events.js';
import { formatDuration } from '../util/duration.js';
import { PAUSE_IMPLS, PauseTimeout, resumeMany } from './pause.js';
import { FenceNotProven } from './fence.js';
import { CatchUpTimeout } from '../replication/catch-up.js';
import { maintenanceDb } from '../pg/connect.js';
import { commitFences, deleteFence, type Direction } from './state.js';
import { Move, type MoveResult, type MoveSettings } from './move-one.js';
import { DryRun } from '../pg/dry-run.js';

export type { MoveResult } from './move-one.js';

export interface MoveOptions {
  pause?: PauseMethod;
  maxPauseMs?: number;
  /** Switchover only: start reverse replication (default: config). */
  reverse?: boolean;
  /** Refuse when the subscription is further behind than this (default 64 MB). */
  maxLagBytes?: number;
  emit?: Emit;
  signal?: AbortSignal;
  /**
   * A dry run (src/pg/dry-run.ts): every read and check runs, every change
   * is recorded here instead of made (per database, in order), nothing is
   * paused; PgBouncer and its config file are not touched.
   */
  dryRun?: DryRun;
}

/** The one write pause of a move: from the first database's pause to the last one's resume (ms on the move's clock). */
export interface SharedPause {
  startMs: number;
  endMs: number;
  ms: number;
}

export interface MoveGroupResult {
  direction: Direction;
  method: PauseMethod;
  pause?: SharedPause;
  databases: MoveResult[];
}

/** Move one database's writes (the N = 1 case of moveMany). */
export async function moveWrites(config: Config, database: string, direction: Direction, opts: MoveOptions = {}): Promise<MoveResult> {
  return (await moveMany(config, [database], direction, opts)).databases[0]!;
}

/** Move the writes of several databases in one pause: all of them, or none before the commit point. */
export async function moveMany(config: Config, databases: string[], direction: Direction, opts: MoveOptions = {}): Promise<MoveGroupResult> {
  const settings = settingsFor(config, databases, opts);
  // A dry run: one plan per database (they run side by side), put together in order at the end.
  const moves = [...new Set(databases)].map((d) => new Move(config, d, direction, settings, opts.dryRun ? new DryRun() : undefined));
  refuseSharedBouncerName(config, settings, moves);
  try {
    await allOrFirstError(moves.map((m) => m.open()));
    const results = await resolveEarlier(moves);
    const movers = moves.filter((m) => !results.has(m));
    if (movers.length) for (const [m, r] of await moveTogether(movers, settings)) results.set(m, r);
    for (const m of moves) if (m.dry) opts.dryRun!.append(m.dry, settings.labelled ? `${m.database}: ` : '');
    return { direction, method: settings.method, ...pauseOf(moves), databases: moves.map((m) => results.get(m)!) };
  } finally {
    await Promise.all(moves.map((m) => m.close()));
  }
}

function settingsFor(config: Config, databases: string[], opts: MoveOptions): MoveSettings {
  return {
    method: opts.pause ?? config.switchover.pause,
    maxPauseMs: opts.maxPauseMs ?? config.switchover.maxPauseMs,
    // Every move leaves replication running the other way (a switchover: target -> source; a
    // rollback: source -> target again), started at its own fence, unless told not to.
    reverse: opts.reverse ?? config.switchover.reverse,
    maxLagBytes: opts.maxLagBytes ?? 64 * 1024 * 1024,
    emit: opts.emit ?? silent,
    t0: performance.now(),
    labelled: new Set(databases).size > 1,
  };
}

/** switchover.pgbouncer.database is PgBouncer's name for one database: several cannot share it. */
function refuseSharedBouncerName(config: Config, settings: MoveSettings, moves: Move[]): void {
  if (settings.method !== 'pgbouncer' || moves.length < 2 || !config.switchover.pgbouncer?.database) return;
  throw new UsageError(`switchover.pgbouncer.database names one PgBouncer database ("${config.switchover.pgbouncer.database}"), so ${moves.map((m) => m.database).join(', ')} cannot move in one pause with it`, {
    hint: 'Move them one at a time, or remove switchover.pgbouncer.database when PgBouncer knows each database by its own name.',
  });
}

// --- what earlier runs left: decided for every database before any is changed ---

async function resolveEarlier(moves: Move[]): Promise<Map<Move, MoveResult>> {
  await allOrFirstError(moves.map((m) => m.readEarlier()));
  const decided = moves.map((m) => ({ m, d: m.decideEarlier() }));
  const refusals = decided.flatMap(({ d }) => (d.kind === 'refuse' ? [d.error] : []));
  if (refusals.length) throw combined(refusals, 'nothing was changed');
  const results = new Map<Move, MoveResult>();
  // One database at a time: the bookkeeping table goes with its last row.
  for (const { m, d } of decided) {
    if (d.kind === 'undo-other') results.set(m, await m.undoOther());
    else if (d.kind === 'restart') await m.undoOwn();
    else if (d.kind === 'already-done') results.set(m, await m.tidyDone());
  }
  const finishers = decided.filter(({ d }) => d.kind === 'finish').map(({ m }) => m);
  for (const m of finishers) {
    m.o.emit({ type: 'info', message: `an interrupted ${m.direction} of ${m.database} had passed its point of no return; finishing it` });
    m.timeline.pauseBegan();
  }
  if (finishers.length) for (const [m, r] of await finishAll(finishers, false)) results.set(m, r);
  return results;
}

// --- a fresh move of every database in one pause ---

async function moveTogether(movers: Move[], settings: MoveSettings): Promise<Map<Move, MoveResult>> {
  await allOrFirstError(movers.map((m) => m.beforePreflight()));
  await preflightAll(movers);
  await allOrFirstError(movers.map((m) => m.plan()));
  // One at a time: the first creates the bookkeeping table.
  for (const m of movers) await m.writeRecord();
  try {
    await allOrFirstError(movers.map((m) => m.makeOppositeSlot()));
  } catch (e) {
    // Nothing is paused yet: the slots made and the records go (each database's own, one
    // record at a time), and the reason is told whatever this tidying meets.
    for (const m of movers) {
      await m.dropOppositeSlotOrWarn();
      await deleteFence(m.sess.fromAdmin, m.database).catch(() => undefined);
    }
    throw e;
  }
  await allOrFirstError(movers.map((m) => m.warm()));

  // The budgeted part: pause, fence, catch-up of every database at once, beside catch-up the carrying (still undoable).
  // One budget for all; a database failing for a reason of its own ends it for the others at
  // once (all or none: their writes go back now instead of when the budget would have run out).
  const budget = { at: performance.now() + settings.maxPauseMs };
  let cutBy: Move | undefined;
  const lateOnItsOwn = new Set<Move>();
  const settled = await Promise.allSettled(movers.map((m) => m.pauseAndCatchUp(budget).catch((e: unknown) => {
    if (isLate(e) && !cutBy) lateOnItsOwn.add(m);
    if (!isLate(e) && !cutBy) {
      cutBy = m;
      budget.at = Math.min(budget.at, performance.now());
    }
    throw e;
  })));
  const rejected = movers.flatMap((m, i) => (settled[i]!.status === 'rejected' ? [{ m, e: (settled[i] as PromiseRejectedResult).reason as unknown }] : []));
  // A database stopped only because the budget was cut for another is no failure of its own.
  const failed = cutBy ? rejected.filter(({ m, e }) => !isLate(e) || lateOnItsOwn.has(m)) : rejected;
  if (failed.length) await abortAll(movers, failed, settings);
  return finishAll(movers, true);
}

/**
 * Every database's checks, then (all passed) the replication the other way
 * prepared: one "preflight" phase per database, and nothing is prepared for
 * any database when one of them is refused.
 */
async function preflightAll(movers: Move[]): Promise<void> {
  const checked = movers.map(() => deferred());
  const all = Promise.all(checked.map((c) => c.promise));
  all.catch(() => undefined);
  await allOrFirstError(movers.map((m, i) => m.timeline.phase('preflight', async () => {
    try {
      await m.checks();
      checked[i]!.resolve();
    } catch (e) {
      checked[i]!.reject(e);
      throw e;
    }
    await all;
    await m.prepareOpposite();
  })));
}

/** Before any commit point: give every database its writes back, then say why. */
async function abortAll(movers: Move[], failed: { m: Move; e: unknown }[], settings: MoveSettings): Promise<never> {
  const cause = failed[0]!.e;
  const undone = await Promise.allSettled(movers.map((m) => m.undoFence()));
  const unfenced: PgshiftError[] = [];
  for (const [i, m] of movers.entries()) {
    const u = undone[i]!;
    try {
      if (u.status === 'rejected') throw u.reason;
      // The slot first, while the record still says a move was under way; one at a time: the
      // bookkeeping table goes with its last row.
      await m.dropOppositeSlotOrWarn();
      await deleteFence(m.sess.fromAdmin, m.database);
      m.emitAborted(failed.find((f) => f.m === m)?.e ?? cause);
    } catch (undoErr) {
      unfenced.push(m.unfenceFailed(failed.find((f) => f.m === m)?.e ?? cause, undoErr));
    }
  }
  if (unfenced.length) throw combined(unfenced, 'the other databases have their writes back');
  throw abortError(movers, failed, settings);
}

/** The budget ran out while it waited (the pause, the fence proof, the apply). */
function isLate(e: unknown): boolean {
  return e instanceof PauseTimeout || e instanceof FenceNotProven || e instanceof CatchUpTimeout;
}

function abortError(movers: Move[], failed: { m: Move; e: unknown }[], settings: MoveSettings): unknown {
  const late = failed.filter(({ e }) => isLate(e));
  const { direction } = movers[0]!;
  const from = movers[0]!.s.from;
  const pauseMs = pauseOf(movers).pause?.ms ?? 0;
  const single = movers.length === 1;
  const why = failed.map(({ m, e }) => (single ? (e as Error).message : `${m.database}: ${(e as Error).message}`)).join('; ');
  const names = movers.map((m) => m.database).join(', ');
  const back = single
    ? `Writes were given back to the ${from} after ${formatDuration(pauseMs)}`
    : `Writes of every database (${names}) were given back to the ${from} after ${formatDuration(pauseMs)}`;
  if (late.length) {
    return new SafetyError('budget_exceeded', `${direction} of ${names} aborted: ${why}, and the budget of ${formatDuration(settings.maxPauseMs)} (max_pause) ran out. ${back}; replication keeps running; nothing was lost.`, {
      hint: 'Find what slows the fence or the apply (long transactions, locks on the target, lag), then retry, or allow more with --max-pause.',
      details: single ? { timeline: movers[0]!.timeline.toJSON() } : { ...pauseOf(movers), timelines: Object.fromEntries(movers.map((m) => [m.database, m.timeline.toJSON()])) },
    });
  }
  if (single) return failed[0]!.e;
  const first = failed[0]!.e;
  const code = first instanceof PgshiftError ? first : undefined;
  return new PgshiftError(code?.code ?? 'move_aborted', `${direction} of ${names} aborted: ${why}. ${back}; replication keeps running; nothing was lost.`, code?.exitCode ?? 1, {
    hint: code?.hint ?? 'Fix the cause named above, then run the command again.',
    details: { ...pauseOf(movers), timelines: Object.fromEntries(movers.map((m) => [m.database, m.timeline.toJSON()])) },
  });
}

// --- the point of no return and after it ---

/**
 * Commit and finish every database (fresh: this run paused and caught up just
 * now; otherwise an interrupted run's records say "committed" already). The
 * commit points are one statement per cluster bookkeeping database; a
 * database failing after its commit point is left to be finished by running
 * the command again, and the others finish now.
 */
async function finishAll(moves: Move[], fresh: boolean): Promise<Map<Move, MoveResult>> {
  if (fresh) await commitPoints(moves);
  // Writes resume first: stopping the feed and starting the other direction need no pause
  // (move-one.ts stopFeed and startOpposite say why). Disabling the feed beside the resume
  // was measured: on two CPUs it slowed the resume by about 6 ms, more than it narrowed.
  await resumeAll(moves);
  await stage(moves, (m) => m.stopFeed(fresh));
  await stage(moves, (m) => m.drain());
  await stage(moves, (m) => m.startOpposite(fresh));
  await stage(moves, (m) => m.markDone());
  for (const m of moves.filter((x) => !x.failure)) {
    try {
      await m.forgetPrevFence();
    } catch (e) {
      m.failure = m.incomplete(e, m.rec!);
    }
  }
  const done = moves.filter((m) => !m.failure);
  await allOrFirstError(done.map((m) => m.afterResume()), 'writes of every database were resumed');
  const results = new Map(done.map((m) => [m, m.result(fresh ? 'done' : 'finished-interrupted')] as const));
  const failures = moves.flatMap((m) => (m.failure ? [m.failure] : []));
  if (failures.length) throw incompleteError(moves, failures, results);
  return results;
}

/** Every database's record says "committed": one statement (one commit) per bookkeeping database. */
async function commitPoints(moves: Move[]): Promise<void> {
  for (const m of moves) m.dry?.step('commit');
  const byAdmin = new Map<string, Move[]>();
  for (const m of moves) {
    const key = maintenanceDb(m.config, m.s.from, m.database);
    byAdmin.set(key, [...(byAdmin.get(key) ?? []), m]);
  }
  await Promise.all([...byAdmin.values()].map(async (group) => {
    try {
      await commitFences(group[0]!.sess.fromAdmin, group.map((m) => ({ database: m.database, oppositeFrom: m.oppositeFrom ?? null })));
    } catch (e) {
      // Whether it committed is known only to the record: the next run reads it and finishes or undoes.
      for (const m of group) m.failure = m.incomplete(e, m.rec!);
    }
  }));
}

/** Run one step for every database that has not failed, at once; a failure is that database's alone. */
async function stage(moves: Move[], fn: (m: Move) => Promise<void>): Promise<void> {
  const live = moves.filter((m) => !m.failure);
  const settled = await Promise.allSettled(live.map(fn));
  settled.forEach((s, i) => {
    if (s.status === 'rejected') live[i]!.failure = live[i]!.incomplete(s.reason, live[i]!.rec!);
  });
}

/**
 * Lift the fences the previous moves left on the side taking writes, then
 * resume every database together (PgBouncer: every entry repointed, one
 * RELOAD). Each database's timeline shows the one resume.
 */
async function resumeAll(moves: Move[]): Promise<void> {
  const live = moves.filter((m) => !m.failure);
  const shared = once(async () => {
    const outcome: PromiseSettledResult<void>[] = await Promise.allSettled(live.map((m) => m.liftPrevFence()));
    const ok = live.filter((_, i) => outcome[i]!.status === 'fulfilled');
    for (const method of new Set(ok.map((m) => m.method))) {
      const group = ok.filter((m) => m.method === method);
      // Every resume of the group runs to its end; a failed one is its database's alone.
      const resumed = await resumeMany(PAUSE_IMPLS[method], group.map((m) => m.ctx));
      group.forEach((m, i) => (outcome[live.indexOf(m)] = resumed[i]!));
    }
    return outcome;
  });
  await stage(live, async (m) => {
    await m.timeline.phase('resume', async () => {
      const resumed = (await shared())[live.indexOf(m)]!;
      if (resumed.status === 'rejected') throw resumed.reason;
    }, () => (m.method === 'pgbouncer' ? `PgBouncer now points at the ${m.s.to}` : undefined));
    m.timeline.pauseEnded();
  });
}

function incompleteError(moves: Move[], failures: PgshiftError[], results: Map<Move, MoveResult>): PgshiftError {
  if (moves.length === 1) return failures[0]!;
  const failedDbs = moves.filter((m) => m.failure);
  const { direction } = moves[0]!;
  const to = moves[0]!.s.to;
  const finished = [...results.keys()].map((m) => m.database);
  return new SafetyError('switchover_incomplete', `${direction} of ${moves.map((m) => m.database).join(', ')}: every database passed its point of no return; ${finished.length ? `${finished.join(', ')} finished (writes go to the ${to}); ` : ''}${failedDbs.map((m) => m.failure!.message).join('; ')}`, {
    hint: `Run "pgshift ${direction} ${failedDbs.map((m) => m.database).join(' ')}" to finish ${failedDbs.length > 1 ? 'them' : 'it'}: ${failedDbs.map((m) => `${m.database}: ${m.failure!.hint ?? ''}`).join(' ')}`,
    details: { ...pauseOf(moves), databases: [...results.values()], incomplete: failedDbs.map((m) => ({ database: m.database, error: m.failure!.message, timeline: m.timeline.toJSON() })) },
  });
}

// --- small helpers ---

/** The shared write pause of these databases, when any paused. */
function pauseOf(moves: Move[]): { pause?: SharedPause } {
  const spans = moves.map((m) => m.timeline.pauseSpan).filter((s) => s !== undefined);
  if (!spans.length) return {};
  const now = performance.now() - moves[0]!.o.t0;
  const round = (n: number): number => Math.round(n * 10) / 10;
  const startMs = Math.min(...spans.map((s) => s.startMs));
  const endMs = Math.max(...spans.map((s) => s.endMs ?? now));
  return { pause: { startMs: round(startMs), endMs: round(endMs), ms: round(endMs - startMs) } };
}

/** Wait for every promise; then throw the failure (of several databases, all of them in one error, with a note on the rest). */
async function allOrFirstError(ps: Promise<unknown>[], note = 'nothing was changed'): Promise<void> {
  const settled = await Promise.allSettled(ps);
  const errors = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (errors.length) throw combined(errors, note);
}

/** One error for several databases' failures (the first one's code and exit code); one failure as it is. */
function combined(errors: unknown[], others: string): unknown {
  const distinct = [...new Set(errors)];
  if (distinct.length === 1) return distinct[0];
  const first = distinct.find((e) => e instanceof PgshiftError) as PgshiftError | undefined;
  const hints = distinct.flatMap((e) => (e instanceof PgshiftError && e.hint ? [e.hint] : []));
  return new (first instanceof SafetyError ? SafetyError : ProblemError)(first?.code ?? 'several_failed', `${distinct.map((e) => (e as Error).message).join('; ')} (${others})`, {
    ...(hints.length ? { hint: [...new Set(hints)].join(' ') } : {}),
  });
}

function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

function deferred(): Deferred {
  const d = {} as Deferred;
  d.promise = new Promise<void>((res, rej) => {
    d.resolve = res;
    d.reject = rej;
  });
  d.promise.catch(() => undefined);
  return d;
}

export { maintenanceDb };
