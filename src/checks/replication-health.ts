// Replication problems that waiting will not heal, found before anything is
// paused: a slot the source invalidated (WAL removed past
// max_slot_wal_keep_size; from 16/17 also rows removed, wal_level lowered,
// idle timeout on 18), a subscription an apply error disabled (with the
// conflicting row from the log where readable), schema drift (drift.ts), and
// an apply worker that makes no progress at all (an error loop, which is all
// a target before 15 shows: it has no disable_on_error and no counters).
//
// Needs: sessions on the migrated database on both sides. Read-only, except
// that the progress probe writes a logical message on the publisher (no
// table, no row) to have a position to wait for, as the catch-up does.
// Used by the switchover/rollback preflight (move-writes.ts) and by check.

import { performance } from 'node:perf_hooks';
import type { DatabaseConfig } from '../config/config.js';
import type { Db } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { formatDuration } from '../util/duration.js';
import { CatchUpTimeout, waitForConfirmed } from '../replication/catch-up.js';
import { describeLogError, lastReplicationError } from '../replication/apply-errors.js';
import { driftProblems, findSchemaDrift, hasDrift } from './drift.js';
import { problemText } from '../problems.js';
import { findSubscription } from '../replication/subscription.js';
import { subscriptionState } from '../replication/subscription.js';

export interface SlotHealth {
  /** 13+: reserved | extended | unreserved | lost */
  walStatus: string | null;
  /** 16+: invalidated by a conflict with recovery */
  conflicting: boolean | null;
  /** 17+: wal_removed | rows_removed | wal_level_insufficient | idle_timeout (18) */
  invalidationReason: string | null;
  /** 13+: bytes that can still be written before the slot is lost; null when unlimited */
  safeWalSize: number | null;
}

export async function slotHealth(db: Db, slot: string): Promise<SlotHealth | undefined> {
  const r = await db.maybeOne<{ wal_status: string | null; conflicting: boolean | null; invalidation_reason: string | null; safe_wal_size: string | null }>(
    sqlFile('status-slot-health'), [slot]);
  if (!r) return undefined;
  return {
    walStatus: r.wal_status,
    conflicting: r.conflicting,
    invalidationReason: r.invalidation_reason,
    safeWalSize: r.safe_wal_size === null ? null : Number(r.safe_wal_size),
  };
}

/** The reason status reports: invalidation_reason (17+), or "conflicting" for a 16 slot with conflicting = true. */
export function reportedReason(h: SlotHealth | undefined): string | null {
  return h?.invalidationReason ?? (h?.conflicting ? 'conflicting' : null);
}

/** The slot can never stream again: PostgreSQL invalidated it. */
export function slotInvalidated(h: SlotHealth | undefined): boolean {
  return Boolean(h && (h.walStatus === 'lost' || h.invalidationReason !== null || h.conflicting === true));
}

const REASONS: Record<string, string> = {
  wal_removed: 'the server removed WAL it still needed (the slot retained more than max_slot_wal_keep_size)',
  rows_removed: 'rows it still needed were vacuumed away (a conflict with recovery)',
  wal_level_insufficient: 'wal_level was lowered below logical',
  idle_timeout: 'it was unused for longer than idle_replication_slot_timeout',
};

/** Why the slot was invalidated, in words. */
export function invalidationText(h: SlotHealth): string {
  if (h.invalidationReason) return `${REASONS[h.invalidationReason] ?? 'PostgreSQL invalidated it'} (invalidation_reason ${h.invalidationReason})`;
  if (h.conflicting) return 'it was invalidated by a conflict with recovery (conflicting = true)';
  return REASONS.wal_removed!;
}

/** What keeps a slot from being invalidated for this reason again, as advice for the side holding it. */
export function invalidationAdvice(reason: string | null, side: string): string {
  if (reason === 'idle_timeout') return `keep the subscription enabled (a disabled one leaves the slot idle), or raise idle_replication_slot_timeout on the ${side}`;
  if (reason === 'wal_level_insufficient') return `keep wal_level = logical on the ${side}`;
  return `raise max_slot_wal_keep_size on the ${side} (or keep the subscriber running)`;
}

export interface Blocker {
  message: string;
  hint: string;
}

export interface BlockerArgs {
  database: string;
  /** Sessions on the migrated database: the side whose writes move (publisher) and the one that receives them. */
  from: Db;
  to: Db;
  /** The subscription on `to` fed from `from`, and its slot on `from`. */
  feed: string;
  feedSlot: string;
  /** Compare schemas (forward direction): the database's config and the publication. */
  drift?: { dbConfig: DatabaseConfig; publication: string };
  /** How long the progress probe waits for the subscriber to confirm a fresh position. */
  probeMs?: number;
}

const DEFAULT_PROBE_MS = 10_000;

/**
 * The first reason replication cannot carry a switchover, or undefined.
 * Problems the preflight already words well (no subscription, tables still
 * copying, lag) are left to it.
 */
export async function replicationBlocker(a: BlockerArgs): Promise<Blocker | undefined> {
  const sub = await findSubscription(a.to, a.feed);
  if (!sub) return undefined;
  const state = await subscriptionState(a.to, a.feed);
  const logError = await lastReplicationError(a.to, { name: sub.name, oid: sub.oid });
  const cause = logError ? `; last error in the ${a.to.side}'s log: ${describeLogError(logError)}` : '';
  const enable = `ALTER SUBSCRIPTION ${quoteIdent(a.feed)} ENABLE`;

  const health = await slotHealth(a.from, a.feedSlot);
  if (slotInvalidated(health)) {
    return {
      message: `replication slot ${a.feedSlot} on the ${a.from.side} is lost: ${invalidationText(health!)}; the subscription cannot continue and changes since then are not on the ${a.to.side}`,
      hint: `Replication must be set up again: "pgshift cleanup ${a.database}", then "pgshift start ${a.database}" (it copies again); ${invalidationAdvice(health!.invalidationReason, a.from.side)} so it does not happen again. Writes were not paused.`,
    };
  }

  if (!sub.enabled) {
    return {
      message: `subscription ${a.feed} is disabled, so replication has stopped${cause || ' (pgshift wait stops it when an apply error repeats; the cause is in the server log)'}`,
      hint: `Nothing was skipped: the failed change is retried once the subscription is enabled. Fix the cause on the ${a.to.side} (for a duplicate key: delete or change the conflicting row there), run ${enable} on the ${a.to.side}, "pgshift wait ${a.database}", then retry. Writes were not paused.`,
    };
  }

  if (a.drift) {
    const drift = await findSchemaDrift(a.from, a.to, a.drift.dbConfig, a.drift.publication);
    if (hasDrift(drift)) {
      const problems = driftProblems(drift, a.database);
      return {
        message: `schema drift between the sides: ${problems.map(problemText).join('; ')}`,
        hint: `DDL is not replicated: apply it on the ${a.to.side} as well, run "pgshift start ${a.database}" for new tables, "pgshift status ${a.database}" shows what is left; then retry. Writes were not paused.`,
      };
    }
  }

  // Tables still copying, or a missing slot or worker: the preflight says so in its own words.
  if (!state || state.not_ready.length > 0 || !health) return undefined;
  const probeMs = a.probeMs ?? DEFAULT_PROBE_MS;
  const before = await a.from.maybeOne<{ confirmed_flush_lsn: string | null }>(sqlFile('slot-confirmed'), [a.feedSlot]);
  try {
    await waitForConfirmed(a.from, a.to, a.feedSlot, performance.now() + probeMs);
  } catch (e) {
    if (!(e instanceof CatchUpTimeout)) throw e;
    // Slow but moving is the lag check's business; not moving at all, or a
    // fresh error in the log, is a failing apply worker (it may confirm a
    // little between restarts, never past the failing transaction).
    const moved = (e.confirmed ?? null) !== (before?.confirmed_flush_lsn ?? null);
    if (moved && !logError?.recent) return undefined;
    return {
      message: `replication is not applying: in ${formatDuration(probeMs)} the ${a.to.side} confirmed nothing past ${e.confirmed ?? 'its start'} (the apply worker fails and restarts${logError ? '' : ', or cannot connect'})${cause}`,
      hint: `Fix the cause shown in the ${a.to.side}'s server log (for a duplicate key: delete or change the conflicting row on the ${a.to.side}); the apply worker retries by itself. Then "pgshift wait ${a.database}" and retry. Writes were not paused.`,
    };
  }
  return undefined;
}
