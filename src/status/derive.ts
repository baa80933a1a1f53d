// From what one look read on both clusters (StatusFacts, gathered by
// StatusProbe in probe.ts) to what `status` reports: phase, lag, and
// the problems, each with its code (what `wait` and programs decide on) and
// the words a person needs to act on it. Pure: no I/O, so every rule here is
// unit-tested with facts made up in the test.

import type { Config } from '../config/config.js';
import type { StatusSample } from '../events.js';
import { problem, type Problem } from '../problems.js';
import { lsnDiff } from '../pg/lsn.js';
import { quoteIdent } from '../pg/quote.js';
import type { MigrationNames } from '../replication/names.js';
import type { PublicationInfo, SlotInfo, SubscriptionInfo } from '../replication/subscription.js';
import { describeLogError, type ReplicationLogError } from '../replication/apply-errors.js';
import { driftProblems, type SchemaDrift } from '../checks/drift.js';
import { invalidationText, reportedReason, slotInvalidated, type SlotHealth } from '../checks/replication-health.js';
import { fenceProblems, type FenceInfo } from '../switchover/fence-status.js';
import type { DatabaseStatus, Phase, TableStatus } from './model.js';

/** The source's walsender row for the subscription (status-source.sql). */
export type SourcePosition = {
  lsn: string;
  walsender_pid: number | null;
  walsender_state: string | null;
  replay_lag_s: number | null;
  reply_age_s: number | null;
};

/** Tables a publication publishes without a usable replica identity (published-without-identity.sql). */
export type UnsafeTables = { schema: string; name: string }[];

/** What a look at the rollback path read: the reverse subscription on the source, its slot on the target. */
export interface ReverseFacts {
  subscription?: SubscriptionInfo;
  slot?: SlotInfo;
  health?: SlotHealth;
  applyWorkerPid: number | null;
  targetLsn: string;
  /** reverseColumnProblems: what the reverse publication publishes that the source cannot take. */
  columnProblems: string[];
  logError: ReplicationLogError | null;
  /** Published on the target without a usable identity (UPDATE/DELETE fail there). */
  unsafe: UnsafeTables;
}

/** Everything one look read, on both sides. */
export interface StatusFacts {
  config: Config;
  database: string;
  names: MigrationNames;
  time: string;
  sourceVersion: string;
  targetVersion: string;
  /** The database does not exist on the target. */
  targetMissing: boolean;
  publication?: PublicationInfo;
  slot?: SlotInfo;
  health?: SlotHealth;
  position: SourcePosition;
  sourceTables: { schema: string; name: string; bytes: string }[];
  subscription?: SubscriptionInfo;
  tables: TableStatus[];
  workers: DatabaseStatus['workers'];
  applyWorkerPid: number | null;
  /** Seconds since the apply worker last heard from the source (pg_stat_subscription.latest_end_time). */
  latestEndAgeS: number | null;
  errors: DatabaseStatus['errors'];
  logError: ReplicationLogError | null;
  /** The error counters rose since this probe's previous look. */
  countersRising: boolean;
  drift: SchemaDrift | null;
  /** The target's wal_receiver_status_interval in seconds. */
  statusIntervalS: number;
  fence: { source: FenceInfo | null; target: FenceInfo | null };
  /** Published on the source without a usable identity (UPDATE/DELETE fail there). */
  unsafe: UnsafeTables;
  /** Read only after a finished switchover. */
  reverse: ReverseFacts | null;
}

/** After a finished switchover the forward subscription is gone on purpose: not a problem, a phase. */
export function isSwitchedOver(subscriptionExists: boolean, fence: StatusFacts['fence']): boolean {
  return !subscriptionExists && fence.source?.direction === 'switchover' && fence.source.phase === 'done';
}

export function deriveStatus(f: StatusFacts): DatabaseStatus {
  const { names, slot, subscription: sub, position: src, tables } = f;
  const switchedOver = isSwitchedOver(Boolean(sub), f.fence);
  const lagBytes = slot?.confirmedFlushLsn ? Number(lsnDiff(src.lsn, slot.confirmedFlushLsn)) : null;
  const replyAgeS = src.reply_age_s === null || src.reply_age_s === undefined ? null : Number(src.reply_age_s);
  // The slot looks in use until wal_sender_timeout ends a connection that
  // went silent (60 s by default; never when 0); a subscriber replies at
  // least every wal_receiver_status_interval, so a much older reply means
  // the connection is likely cut now.
  const replyStale = Boolean(slot?.active) && replyAgeS !== null && replyAgeS > Math.max(3 * f.statusIntervalS, 3);
  const reverse = switchedOver && f.reverse ? deriveReverse(f.reverse, names, f.database) : null;
  const tablesReady = tables.filter((t) => t.state === 'ready').length;
  const rolledBack = !switchedOver && f.fence.target?.direction === 'rollback' && f.fence.target.phase === 'done';
  return {
    database: f.database,
    time: f.time,
    phase: phaseOf(switchedOver, sub, tablesReady, tables.length),
    replication: switchedOver
      ? (reverse?.info?.enabled ? 'target -> source' as const : null)
      : (sub?.enabled ? 'source -> target' as const : null),
    writesTo: switchedOver ? 'target' : 'source',
    rolledBack,
    source: { version: f.sourceVersion, lsn: src.lsn },
    walsender: src.walsender_pid === null || src.walsender_pid === undefined ? null : {
      pid: Number(src.walsender_pid),
      state: src.walsender_state ?? '',
      replyAgeSeconds: replyAgeS,
      stale: replyStale,
    },
    target: { version: f.targetVersion, databaseExists: !f.targetMissing },
    publication: { name: names.publication, exists: Boolean(f.publication), tables: f.sourceTables.length },
    subscription: { name: names.subscription, exists: Boolean(sub), enabled: sub ? sub.enabled : null, applyWorkerPid: f.applyWorkerPid },
    workers: f.workers,
    slot: {
      name: names.slot,
      exists: Boolean(slot),
      active: slot ? slot.active : null,
      walStatus: slot?.walStatus ?? null,
      restartLsn: slot?.restartLsn ?? null,
      confirmedFlushLsn: slot?.confirmedFlushLsn ?? null,
      invalidationReason: reportedReason(f.health),
      safeWalBytes: f.health?.safeWalSize ?? null,
    },
    reverse: reverse?.info ?? null,
    tables,
    tablesReady,
    tablesTotal: tables.length,
    copiedBytes: tables.reduce((sum, t) => sum + (t.copy ? t.copy.bytes : t.state === 'init' ? 0 : t.targetBytes), 0),
    lagBytes,
    lagSeconds: lagSecondsOf(lagBytes, src.replay_lag_s, f.latestEndAgeS),
    walRetainedBytes: slot?.restartLsn ? Number(lsnDiff(src.lsn, slot.restartLsn)) : null,
    errors: f.errors,
    drift: f.drift,
    problems: [
      ...forwardProblems(f, switchedOver),
      ...(replyStale ? [staleReplyProblem(src, replyAgeS!, f.statusIntervalS)] : []),
      ...(reverse?.problems ?? []),
      ...(f.drift ? driftProblems(f.drift, f.database) : []),
      ...fenceProblems(f.fence).map((message) => problem('fence_interrupted', message)),
      ...errorCounterProblems(f),
      ...unsafeProblems(f, switchedOver),
      ...unsubscribedProblems(f),
    ],
    fence: f.fence,
  };
}

function phaseOf(switchedOver: boolean, sub: SubscriptionInfo | undefined, ready: number, total: number): Phase {
  if (switchedOver) return 'switched over';
  if (sub && !sub.enabled) return 'stopped';
  if (sub) return ready === total ? 'streaming' : 'copying';
  return 'not started';
}

function lagSecondsOf(lagBytes: number | null, replayLagS: number | null, latestEndAgeS: number | null): number | null {
  if (lagBytes === 0) return 0;
  if (replayLagS !== null && replayLagS !== undefined) return Number(replayLagS);
  if (latestEndAgeS !== null && lagBytes !== null) return latestEndAgeS;
  return null;
}

/** What is missing or stopped in forward replication (publication, database, subscription, slot). */
function forwardProblems(f: StatusFacts, switchedOver: boolean): Problem[] {
  const { names, subscription: sub, logError, database } = f;
  const out: Problem[] = [];
  if (!f.publication && !switchedOver) out.push(problem('publication_missing', `publication ${names.publication} does not exist on the source`, `run "pgshift start ${database}"`));
  if (f.targetMissing) out.push(problem('target_database_missing', `database "${database}" does not exist on the target`, `run "pgshift schema ${database}"`));
  else if (!sub && !switchedOver) out.push(problem('subscription_missing', `subscription ${names.subscription} does not exist on the target`, `run "pgshift start ${database}"`));
  if (sub && !sub.enabled) {
    out.push(problem('subscription_disabled', `subscription ${names.subscription} is disabled: pgshift wait stops it when an apply error repeats, or someone disabled it (see the target's server log)`,
      // sql-lint: safe (a message for the user; the name in the SQL is quoted)
      `fix the cause, then ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} ENABLE`));
  }
  if (sub && !sub.enabled && logError) {
    const duplicate = /already exists/.test(logError.detail ?? '');
    out.push(problem('apply_error_stopped', `the apply error that stopped subscription ${names.subscription}: ${describeLogError(logError)}${duplicate ? '; that row is already on the target' : ''}`,
      duplicate ? 'delete or change it there, then enable the subscription (the source row arrives then; nothing is skipped)' : undefined));
  }
  if (sub?.enabled && logError?.recent) {
    // A failing apply worker restarts and retries: a fresh error in the log is the clearest sign.
    out.push(problem('apply_error_retrying', `replication error in the target's log: ${describeLogError(logError)}; the apply worker retries, and fails again until the cause is fixed`,
      'for a duplicate key: delete or change that row on the target ("pgshift wait" stops the subscription when the error repeats)'));
  }
  if (sub && !f.slot) out.push(problem('slot_missing', `replication slot ${names.slot} does not exist on the source: the subscription cannot receive changes`, `run "pgshift cleanup ${database}" and start again`));
  out.push(...slotProblems(f.slot, f.health, sub, f.applyWorkerPid, f.config, database));
  return out;
}

function staleReplyProblem(src: SourcePosition, replyAgeS: number, statusIntervalS: number): Problem {
  return problem('walsender_stale', `the source's walsender (pid ${src.walsender_pid}) has heard nothing from the target for ${Math.round(replyAgeS)} s (it replies at least every ${statusIntervalS} s): the connection is probably cut or the target is stuck; PostgreSQL ends it after wal_sender_timeout and reconnects when it can`,
    'check the network between the servers');
}

/**
 * The counters never go down: one network blip counts too. They are a
 * problem while errors keep coming (a recent one in the log, or the counter
 * rising between two looks of one probe), not forever after.
 */
function errorCounterProblems(f: StatusFacts): Problem[] {
  const erring = f.countersRising || Boolean(f.logError?.recent) || (f.subscription?.enabled === true && f.applyWorkerPid === null);
  if (!erring) return [];
  const out: Problem[] = [];
  if (f.errors.apply) out.push(problem('apply_errors_recent', `${f.errors.apply} apply error(s) since the subscription was created, the last one recent`, 'see the target\'s server log'));
  if (f.errors.sync) out.push(problem('sync_errors_recent', `${f.errors.sync} table sync error(s) since the subscription was created, the last one recent`, 'see the target\'s server log'));
  return out;
}

/**
 * A table published without a usable identity refuses the application's
 * UPDATE and DELETE (a partition created after start is published through
 * its root without one).
 */
function unsafeProblems(f: StatusFacts, switchedOver: boolean): Problem[] {
  const say = (code: 'replica_identity_missing' | 'reverse_replica_identity_missing', rows: UnsafeTables, publication: string, where: string, fix: string): Problem[] => (rows.length === 0 ? [] : [
    // sql-lint: safe (a message for the user, not SQL)
    problem(code, `UPDATE and DELETE fail on the ${where} for ${rows.length} table(s) publication ${publication} publishes without a usable replica identity: ${rows.slice(0, 5).map((r) => `${r.schema}.${r.name}`).join(', ')}${rows.length > 5 ? ', ...' : ''} (a partition created after the publication?)`, fix),
  ]);
  return [
    ...(f.publication ? say('replica_identity_missing', f.unsafe, f.names.publication, 'source', `run "pgshift start ${f.database}" again: it gives them one`) : []),
    // sql-lint: safe (advice for the user, not SQL)
    ...(switchedOver && f.reverse ? say('reverse_replica_identity_missing', f.reverse.unsafe, f.names.reversePublication, 'target (the new primary)', 'give each a primary key or ALTER TABLE ... REPLICA IDENTITY FULL on the target') : []),
  ];
}

function unsubscribedProblems(f: StatusFacts): Problem[] {
  if (!f.publication || !f.subscription) return [];
  const subscribed = new Set(f.tables.map((t) => `${t.schema}\u0000${t.name}`));
  const missing = f.sourceTables.filter((t) => !subscribed.has(`${t.schema}\u0000${t.name}`));
  if (missing.length === 0) return [];
  return [problem('tables_not_subscribed', `${missing.length} published table(s) not yet subscribed (e.g. ${missing[0]!.schema}.${missing[0]!.name})`, `run "pgshift start ${f.database}" again`)];
}

/** The rollback path after a switchover, and what stands in its way. */
export function deriveReverse(r: ReverseFacts, names: MigrationNames, database: string): { info: NonNullable<DatabaseStatus['reverse']>; problems: Problem[] } {
  const { subscription: sub, slot, health, logError } = r;
  const info = {
    subscription: names.reverseSubscription,
    subscriptionExists: Boolean(sub),
    enabled: sub ? sub.enabled : null,
    slot: names.reverseSlot,
    slotExists: Boolean(slot),
    active: slot ? slot.active : null,
    walStatus: slot?.walStatus ?? null,
    invalidationReason: reportedReason(health),
    applyWorkerPid: r.applyWorkerPid,
    confirmedFlushLsn: slot?.confirmedFlushLsn ?? null,
    lagBytes: slot?.confirmedFlushLsn ? Number(lsnDiff(r.targetLsn, slot.confirmedFlushLsn)) : null,
    columnProblems: r.columnProblems,
    lastError: logError ? describeLogError(logError) : null,
  };
  const problems: Problem[] = [];
  const noRollback = 'a rollback cannot carry the target\'s writes until this is fixed (pgshift rollback refuses)';
  const lost = Boolean(slot && (slot.walStatus === 'lost' || slotInvalidated(health)));
  if (lost) {
    problems.push(problem('reverse_slot_lost', `reverse replication slot ${names.reverseSlot} on the target is lost: ${health ? invalidationText(health) : 'the target removed WAL it still needed'}; the source can no longer receive the target's writes, so a rollback is not possible (pgshift rollback refuses). The target keeps the writes`,
      `when the source is no longer needed: pgshift cleanup ${database}`));
  }
  const broken = r.columnProblems;
  if (broken.length > 0) {
    problems.push(problem('reverse_columns_missing', `reverse replication target -> source is broken: ${broken.slice(0, 5).join('; ')}${broken.length > 5 ? '; ...' : ''}; the source's apply worker stops at the first change that carries such a column, and ${noRollback}`,
      'give the source those columns (nullable or with a default) so it can take them'));
  }
  // A lost slot says it all: enabling or restarting the subscription cannot bring it back.
  if (lost) return { info, problems };
  if (sub && !sub.enabled) {
    problems.push(problem('reverse_subscription_disabled', `reverse subscription ${names.reverseSubscription} on the source is disabled: the target's writes do not reach the source, and ${noRollback}`,
      // sql-lint: safe (advice for the user; the name in the SQL is quoted)
      `once the cause is fixed: ALTER SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} ENABLE on the source`));
  } else if (sub && (logError?.recent || !r.applyWorkerPid)) {
    problems.push(problem('reverse_not_applying', `reverse replication target -> source is not applying: ${logError?.recent ? `the source's log shows ${describeLogError(logError)}` : 'no apply worker is running for it on the source (PostgreSQL restarts it after an error or a lost connection)'}; ${noRollback}`));
  }
  return { info, problems };
}

function slotProblems(slot: SlotInfo | undefined, health: SlotHealth | undefined, sub: SubscriptionInfo | undefined, applyWorkerPid: number | null, config: Config, database: string): Problem[] {
  if (!slot) return [];
  const out: Problem[] = [];
  // Every invalidation (WAL removed, idle too long, ...) shows as wal_status lost; the reason says which.
  if (slot.walStatus === 'lost' || slotInvalidated(health)) {
    out.push(problem('slot_lost', `replication slot ${slot.name} is lost: ${health ? invalidationText(health) : 'the source removed WAL it still needed'}; the subscription cannot continue`,
      `run "pgshift cleanup ${database}" and start again`));
  } else if (slot.walStatus === 'unreserved') {
    out.push(problem('slot_unreserved', `replication slot ${slot.name} is about to lose WAL it needs (wal_status unreserved)`, 'the target must catch up now, or raise max_slot_wal_keep_size on the source'));
  }
  if (sub?.enabled && !slot.active) {
    // Name the address the target server dials (not the one pgshift used): after a restart or a network cut that is what to check.
    const peer = config.source.connFromPeer;
    const where = `host ${(peer ?? config.source.conn).host ?? '(default)'} port ${(peer ?? config.source.conn).port ?? '5432'} (${peer ? 'source.conn_from_target' : 'source.conn; set source.conn_from_target if the target server sees the source elsewhere'})`;
    out.push(applyWorkerPid !== null
      ? problem('slot_inactive', `replication slot ${slot.name} is not in use: the subscription's apply worker (pid ${applyWorkerPid}) is running but not streaming from the source; if this lasts, the target server cannot reach the source at ${where}`,
        'check the network between them; the target\'s server log says why')
      : problem('slot_inactive', `replication slot ${slot.name} is not in use: no apply worker is running for the subscription (PostgreSQL restarts it after an error or a lost connection); if this lasts, the target server cannot reach the source at ${where}, or an error repeats`,
        'see the target\'s server log'));
  }
  return out;
}

/** The numbers of a look, for the journal and the metrics (a `status` event). */
export function sampleOf(s: DatabaseStatus): StatusSample {
  return {
    database: s.database,
    time: s.time,
    phase: s.phase,
    sourceVersion: s.source.version,
    targetVersion: s.target.version,
    tablesReady: s.tablesReady,
    tablesTotal: s.tablesTotal,
    copiedBytes: s.copiedBytes,
    lagBytes: s.lagBytes,
    lagSeconds: s.lagSeconds,
    walRetainedBytes: s.walRetainedBytes,
    applyErrors: s.errors.apply,
    syncErrors: s.errors.sync,
    reverseLagBytes: s.reverse?.lagBytes ?? null,
    problems: s.problems.length,
  };
}
