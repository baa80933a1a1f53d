// What `status` reports for one database: the documented `status --json`
// contract (docs/replication.md). Add fields, never rename them (a change
// of shape bumps JSON_FORMAT_VERSION in src/cli/output.ts).

import type { SchemaDrift } from '../checks/drift.js';
import type { Problem } from '../problems.js';
import type { FenceInfo } from '../switchover/fence-status.js';

/** pg_subscription_rel.srsubstate, in words. */
export type SyncState = 'init' | 'copying' | 'copied' | 'syncing' | 'ready' | 'unknown';

export const STATE_NAMES: Record<string, SyncState> = { i: 'init', d: 'copying', f: 'copied', s: 'syncing', r: 'ready' };

export interface TableStatus {
  schema: string;
  name: string;
  /** init (waiting for a sync worker), copying, copied (14+), syncing (catching up to the apply worker), ready */
  state: SyncState;
  /** The raw srsubstate letter: i, d, f, s, r. */
  stateCode: string;
  /** The COPY running for this table right now (target 14+), else null. */
  copy: { rows: number; bytes: number } | null;
  /** Size of the table on the source (pg_table_size, partitions summed). */
  sourceBytes: number | null;
  /** Size of the table on the target so far. */
  targetBytes: number;
}

/** 'switched over': a finished switchover moved writes to the target (forward replication ended on purpose). */
export type Phase = 'not started' | 'copying' | 'streaming' | 'stopped' | 'switched over';

export interface DatabaseStatus {
  database: string;
  /** When this was measured (ISO 8601). */
  time: string;
  phase: Phase;
  /**
   * Which way replication runs now: 'source -> target' (after start, and again
   * after a rollback), 'target -> source' (after a switchover), or null (none
   * enabled). writesTo: the side that takes writes; rolledBack: a rollback
   * moved them back (forward replication runs again from its fence).
   */
  replication: 'source -> target' | 'target -> source' | null;
  writesTo: 'source' | 'target';
  rolledBack: boolean;
  source: { version: string; lsn: string };
  /**
   * The source's walsender serving the subscription (pg_stat_replication),
   * or null when none is connected; replyAgeSeconds: since it last heard
   * from the target (null before the first reply); stale: longer than three
   * of the target's wal_receiver_status_interval (a problem says so).
   */
  walsender?: { pid: number; state: string; replyAgeSeconds: number | null; stale: boolean } | null;
  target: { version: string; databaseExists: boolean };
  publication: { name: string; exists: boolean; tables: number };
  subscription: { name: string; exists: boolean; enabled: boolean | null; applyWorkerPid: number | null };
  /** The subscription's running workers: the apply worker (table null) and table sync workers. */
  workers: { pid: number; table: string | null }[];
  slot: {
    name: string;
    exists: boolean;
    active: boolean | null;
    /** 13+: reserved | extended | unreserved | lost; null before 13 or without a slot. */
    walStatus: string | null;
    restartLsn: string | null;
    confirmedFlushLsn: string | null;
    /**
     * Why PostgreSQL invalidated the slot: pg_replication_slots.invalidation_reason
     * (17+: wal_removed, rows_removed, wal_level_insufficient, idle_timeout),
     * "conflicting" on 16 when conflicting is true; null otherwise.
     */
    invalidationReason: string | null;
    /** 13+: WAL that can still be written before the slot is lost (safe_wal_size); null when unlimited. */
    safeWalBytes: number | null;
  };
  /**
   * After a finished switchover: the reverse replication (target -> source)
   * that makes a rollback possible; null before. A reverse slot the target
   * invalidated is a problem: rollback can no longer carry the target's writes.
   */
  reverse: {
    subscription: string;
    subscriptionExists: boolean;
    enabled: boolean | null;
    slot: string;
    slotExists: boolean;
    active: boolean | null;
    walStatus: string | null;
    invalidationReason: string | null;
    /** The source's apply worker for the reverse subscription, null when none runs. */
    applyWorkerPid: number | null;
    confirmedFlushLsn: string | null;
    /** The target's WAL the source has not confirmed yet (target pg_current_wal_lsn() - slot confirmed_flush_lsn). */
    lagBytes: number | null;
    /** What the reverse publication publishes that the source cannot take (each stops its apply worker). */
    columnProblems: string[];
    /** The reverse subscription's last error in the source's log, when readable. */
    lastError: string | null;
  } | null;
  tables: TableStatus[];
  tablesReady: number;
  tablesTotal: number;
  /** Bytes copied so far: running COPYs plus finished tables' sizes on the target. */
  copiedBytes: number;
  /** Source WAL not yet confirmed applied by the target (null without a slot). */
  lagBytes: number | null;
  /** Estimated seconds behind (0 when lagBytes is 0; null when unknown). */
  lagSeconds: number | null;
  /** WAL the slot makes the source keep (current LSN - restart_lsn). */
  walRetainedBytes: number | null;
  /**
   * Counters from pg_stat_subscription_stats (target 15+; null before); the
   * last error of this subscription from the target's log when readable:
   * its ERROR line (last), DETAIL (lastDetail: for a duplicate key, the
   * conflicting key), relation and timestamp.
   */
  errors: {
    apply: number | null;
    sync: number | null;
    last: string | null;
    lastDetail: string | null;
    lastRelation: string | null;
    lastAt: string | null;
  };
  /**
   * Schema drift since start (DDL is not replicated): tables the source would
   * replicate that are not published or not on the target, and columns of
   * published tables the target cannot take. Null before start (no
   * publication) or without the target database.
   */
  drift: SchemaDrift | null;
  /** Everything that needs attention, each with its code (docs/problems.md) and what to do; empty when healthy. */
  problems: Problem[];
  /** Writes paused by pgshift on a side (switchover/rollback fence records), with how to undo them. */
  fence?: { source: FenceInfo | null; target: FenceInfo | null };
}
