// Step "wait": block until forward replication of one database has caught
// up: every subscribed table ready (initial copy done and merged into the
// stream), every published table subscribed, and lag at or under a
// threshold. Never waits forever: a timeout always applies, and it gives up
// early, with the reason, on what will not heal by waiting: no subscription,
// a disabled subscription, a missing or lost slot, or an error loop (error
// counters rising, 15+; the same worker restarting again and again, before
// 15), told apart as an initial copy (table sync) or a change (apply) the
// target rejects. An error loop is stopped: wait disables the subscription
// (see below); restarts and network cuts are ridden out.
// Once caught up, it adds the NOT VALID CHECK constraints schema deferred
// until the initial copy was done (deferred-constraints.ts). Those are its
// only changes.
// Needs: "pgshift start DB". Safe to run any number of times.

import type { Config } from '../config/config.js';
import { ConnectionError, ProblemError, throwIfAborted } from '../errors.js';
import type { Emit } from '../events.js';
import { silent, warning } from '../events.js';
import { problemText, type StatusProblemCode } from '../problems.js';
import { formatBytes, formatDuration } from '../util/duration.js';
import { sleep } from '../util/wait.js';
import { quoteIdent } from '../pg/quote.js';
import { StatusProbe } from '../status/probe.js';
import { invalidationAdvice, invalidationText } from '../checks/replication-health.js';
import { addDeferredChecksFor } from '../checks/deferred-constraints.js';
import { type DatabaseStatus } from '../status/model.js';
import { sampleOf } from '../status/derive.js';

export const DEFAULT_WAIT_TIMEOUT_MS = 24 * 3_600_000;
export const DEFAULT_MAX_LAG_BYTES = 1024 * 1024;
/** Errors (or worker restarts) beyond this many while waiting mean a loop, not a blip. */
const ERROR_LOOP_THRESHOLD = 3;

export interface WaitOptions {
  timeoutMs?: number;
  maxLagBytes?: number;
  intervalMs?: number;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface WaitResult {
  status: DatabaseStatus;
  ms: number;
}

/** What status finds missing before replication can run. */
const NOT_STARTED: readonly string[] = ['publication_missing', 'target_database_missing', 'subscription_missing'] satisfies StatusProblemCode[];

/**
 * Why this status can never become ready by waiting, or undefined: decided
 * on status's problem codes (derive.ts finds them), except "no subscription",
 * which after a finished switchover is no problem but still nothing to wait for.
 */
export function hopeless(s: DatabaseStatus, database: string): ProblemError | undefined {
  if (!s.subscription.exists) {
    const missing = s.problems.find((p) => NOT_STARTED.includes(p.code));
    return new ProblemError('not_started', `replication of "${database}" has not been started: ${missing?.message ?? 'no subscription'}`, {
      hint: `Run "pgshift start ${database}" (or "pgshift run ${database}").`,
    });
  }
  const has = (code: StatusProblemCode): boolean => s.problems.some((p) => p.code === code);
  if (has('subscription_disabled')) {
    return new ProblemError('subscription_disabled', `subscription ${s.subscription.name} is disabled${s.errors.last ? `; last error: ${s.errors.last}` : ''}`, {
      // sql-lint: safe (a hint for the user; the name in the SQL is quoted)
      hint: `pgshift wait disables a subscription whose apply error repeats (e.g. a row that conflicts with one already on the target; "pgshift status ${database}" shows it when the server log is readable). Fix the cause, then run ALTER SUBSCRIPTION ${quoteIdent(s.subscription.name)} ENABLE on the target and wait again.`,
    });
  }
  if (has('slot_missing')) {
    return new ProblemError('slot_missing', `replication slot ${s.slot.name} does not exist on the source`, {
      hint: `The subscription cannot continue without it. Run "pgshift cleanup ${database}" and "pgshift start ${database}" to copy again.`,
    });
  }
  if (has('slot_lost')) {
    const reason = s.slot.invalidationReason;
    // status reports a 16 slot's conflicting = true as the reason "conflicting".
    const conflicting = reason === 'conflicting';
    const why = invalidationText({ walStatus: s.slot.walStatus, conflicting, invalidationReason: conflicting ? null : reason, safeWalSize: null });
    return new ProblemError('slot_lost', `replication slot ${s.slot.name} is lost: ${why}; the target cannot receive the changes made since`, {
      hint: `Run "pgshift cleanup ${database}" and "pgshift start ${database}" to copy again; ${invalidationAdvice(reason, 'source')} so it does not happen again.`,
    });
  }
  return undefined;
}

/** An error loop: which kind of worker fails, and how it showed. */
interface Loop {
  /** sync: a table's initial copy (table sync worker); apply: a change streamed after it. */
  kind: 'sync' | 'apply';
  text: string;
  /** The table, when the failing worker is a table sync worker seen by pid (before 15). */
  table?: string;
}

/** Tracks error counters and worker restarts across looks to tell a loop from a blip. */
class LoopDetector {
  private baseline?: { apply: number; sync: number };
  private pidsByWorker = new Map<string, Set<number>>();

  see(s: DatabaseStatus): Loop | undefined {
    if (s.errors.apply !== null || s.errors.sync !== null) {
      const now = { apply: s.errors.apply ?? 0, sync: s.errors.sync ?? 0 };
      this.baseline ??= now;
      const last = s.errors.last ? `; last error: ${s.errors.last}` : '';
      if (now.sync - this.baseline.sync >= ERROR_LOOP_THRESHOLD) {
        return { kind: 'sync', text: `the subscription's table sync error count rose from ${this.baseline.sync} to ${now.sync} while waiting${last}` };
      }
      if (now.apply - this.baseline.apply >= ERROR_LOOP_THRESHOLD) {
        return { kind: 'apply', text: `the subscription's apply error count rose from ${this.baseline.apply} to ${now.apply} while waiting${last}` };
      }
      return undefined;
    }
    // Before 15 there are no counters; a worker that keeps coming back with a new pid is failing.
    for (const w of s.workers) {
      const key = w.table ?? '(apply)';
      const pids = this.pidsByWorker.get(key) ?? new Set<number>();
      pids.add(w.pid);
      this.pidsByWorker.set(key, pids);
      if (pids.size > ERROR_LOOP_THRESHOLD + 1) {
        return w.table
          ? { kind: 'sync', table: w.table, text: `the table sync worker for ${w.table} restarted ${pids.size - 1} times while waiting (an error loop; see the target's server log)` }
          : { kind: 'apply', text: `the apply worker restarted ${pids.size - 1} times while waiting (an error loop; see the target's server log)` };
      }
    }
    return undefined;
  }
}

/**
 * The error for a loop wait stopped, with advice for its real cause: an
 * initial copy the target refuses (its rows meet a constraint, trigger or
 * key on the target that the source's do not) or a streamed change it
 * refuses (usually a row already on the target).
 */
export function stuckError(database: string, s: DatabaseStatus, loop: Loop): ProblemError {
  const subSql = quoteIdent(s.subscription.name);
  const where = s.errors.lastRelation ?? loop.table;
  const detail = s.errors.lastDetail ? ` (${s.errors.lastDetail}${where ? ` on ${where}` : ''})` : where ? ` (on ${where})` : '';
  const enable = `then run ALTER SUBSCRIPTION ${subSql} ENABLE on the target and wait again`;
  const log = s.errors.last ? '' : ' The target\'s server log has the ERROR with the table and the row (pgshift could not read it).';
  if (loop.kind === 'sync') {
    return new ProblemError('sync_error_loop', `the initial copy of a table of "${database}" keeps failing on the target${detail}: ${loop.text}. pgshift disabled subscription ${s.subscription.name} so it stops copying it again and again`, {
      // sql-lint: safe (advice for people; the name in the SQL is quoted)
      hint: `The target refuses rows the source holds: a constraint, trigger or index on the target that they do not meet (a NOT VALID CHECK constraint on the source is one: older rows may violate it; "pgshift schema" adds those only after the copy, a target schema you provisioned may have them already), or a row already on the target with the same key. Fix it on the target (drop or relax that object until the copy is done, or remove the conflicting row), ${enable}: the table's copy starts over, nothing is skipped.${log}`,
    });
  }
  return new ProblemError('apply_conflict', `replication of "${database}" is stuck on a change the target rejects${detail}: ${loop.text}. pgshift disabled subscription ${s.subscription.name} so it stops retrying`, {
    // sql-lint: safe (advice for people; the name in the SQL is quoted)
    hint: `Fix the cause on the target (${s.errors.lastDetail ? 'for a duplicate key: delete or change the target\'s row named above' : 'often a row already on the target with the key of the change'}), ${enable}. Nothing was skipped: the rejected change is applied when the subscription is enabled.${log}`,
  });
}

export function isCaughtUp(s: DatabaseStatus, maxLagBytes: number): boolean {
  return s.subscription.exists && s.subscription.enabled === true &&
    s.slot.active === true && s.subscription.applyWorkerPid !== null &&
    s.tablesTotal >= s.publication.tables && s.tablesReady === s.tablesTotal &&
    s.lagBytes !== null && s.lagBytes <= maxLagBytes &&
    // A silent connection looks in use until wal_sender_timeout: not caught up while the target's replies are stale.
    s.walsender?.stale !== true;
}

/**
 * Nothing failed between two looks: same apply worker, error counters
 * unchanged. A worker in an error loop can look caught up for a moment (the
 * failing transaction is small, the lag under the threshold) between restarts.
 */
function steady(a: DatabaseStatus, b: DatabaseStatus): boolean {
  return a.subscription.applyWorkerPid === b.subscription.applyWorkerPid &&
    a.errors.apply === b.errors.apply && a.errors.sync === b.errors.sync;
}

/** How long "caught up" must hold, steadily, before wait believes it. */
const CONFIRM_MS = 1000;

function progressDetail(s: DatabaseStatus): string {
  const lag = s.lagBytes === null ? 'lag unknown' : `lag ${formatBytes(s.lagBytes)}${s.lagSeconds !== null ? ` (${s.lagSeconds.toFixed(1)}s)` : ''}`;
  return `${formatBytes(s.copiedBytes)} copied, ${lag}`;
}

function summary(s: DatabaseStatus): string {
  return `${s.tablesReady}/${s.tablesTotal} tables ready, ${progressDetail(s)}`;
}

export async function waitForSync(config: Config, database: string, opts: WaitOptions = {}): Promise<WaitResult> {
  const emit = opts.emit ?? silent;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const maxLag = opts.maxLagBytes ?? DEFAULT_MAX_LAG_BYTES;
  const interval = opts.intervalMs ?? 1000;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const probe = new StatusProbe(config, database);
  const loops = new LoopDetector();
  let last: DatabaseStatus | undefined;
  let lastConnError: ConnectionError | undefined;
  let candidate: { status: DatabaseStatus; at: number } | undefined;
  try {
    while (true) {
      throwIfAborted(opts.signal, 'wait');
      try {
        last = await probe.look();
        lastConnError = undefined;
      } catch (e) {
        // A restart or network blip on either side heals; keep looking until the deadline.
        if (!(e instanceof ConnectionError) && !/terminat|ECONNRESET|Connection terminated/i.test((e as Error).message)) throw e;
        lastConnError = e instanceof ConnectionError ? e : new ConnectionError('connection_lost', (e as Error).message);
        emit(warning('connection_lost', `lost a connection while waiting (${(e as Error).message}); retrying`));
        await probe.reset();
      }
      if (last && !lastConnError) {
        emit({ type: 'status', data: sampleOf(last) });
        const fatal = hopeless(last, database);
        if (fatal) throw fatal;
        const loop = loops.see(last);
        if (loop && (last.errors.lastRelation !== null || last.errors.lastDetail !== null || last.errors.apply !== null || loop.table !== undefined)) {
          // An error that repeats on a table never heals by itself: a row the
          // target refuses (a conflicting key, a constraint the source's rows
          // do not meet). Stop the workers rather than let them fail every few
          // seconds (a failing initial copy starts its table over each time);
          // re-enabling resumes where they stopped, so nothing is skipped.
          // On 15+ the loop is seen in the error counters, which a failed
          // connection does not raise (only errors while copying or applying
          // do). A pre-15 apply worker restarting without a table or DETAIL
          // (the key) in its logged error may be failing to connect, which
          // heals: that only fails the wait.
          await probe.disableSubscription();
          throw stuckError(database, last, loop);
        }
        if (loop) {
          throw new ProblemError('apply_error_loop', `replication of "${database}" is failing: ${loop.text}`, {
            hint: `Find the error in the target's server log, fix its cause (often a row on the target that conflicts with one from the source), and run wait again. "pgshift status ${database}" shows the counters.`,
          });
        }
        emit({ type: 'progress', task: `wait:${database}`, label: `${database} (${progressDetail(last)}), tables ready`, done: last.tablesReady, total: last.tablesTotal, unit: 'tables' });
        if (!isCaughtUp(last, maxLag)) {
          candidate = undefined;
        } else if (!candidate || !steady(candidate.status, last)) {
          candidate = { status: last, at: Date.now() };
        } else if (Date.now() - candidate.at >= CONFIRM_MS) {
          // Every table is ready: no initial copy can meet these constraints any more.
          await addDeferredChecksFor(config, database, emit);
          return { status: last, ms: Date.now() - started };
        }
      }
      if (Date.now() >= deadline) {
        // The problems say why (e.g. the slot not in use: a restart or a network cut), not just how far it got.
        const why = last && last.problems.length > 0 ? `; ${last.problems.map(problemText).join('; ')}` : '';
        const where = last ? `${summary(last)}${why}` : lastConnError ? lastConnError.message : 'no status yet';
        throw new ProblemError('wait_timeout', `"${database}" did not catch up within ${formatDuration(timeoutMs)}: ${where}`, {
          hint: last?.problems.some((p) => p.code === 'slot_inactive')
            ? `Replication is not streaming (the slot is not in use): if that lasts, check that the target server can reach the source and read the target's server log; PostgreSQL reconnects by itself once it can. Watch it with "pgshift status ${database} --watch", then wait again.`
            : `Run "pgshift status ${database}" to see which tables are still copying; wait again with a longer --timeout${last && last.lagBytes !== null && last.lagBytes > maxLag ? ', or a larger --max-lag' : ''}.`,
          details: last ? { tablesReady: last.tablesReady, tablesTotal: last.tablesTotal, lagBytes: last.lagBytes } : undefined,
        });
      }
      const pause = candidate ? Math.min(interval, Math.max(50, CONFIRM_MS - (Date.now() - candidate.at))) : interval;
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), opts.signal);
    }
  } finally {
    await probe.close();
  }
}
