// Step "status" (read-only): where forward replication of one database
// stands, from both clusters' catalogs and statistics views. Per table: the
// subscription's sync state and, during the initial copy, rows and bytes
// copied (pg_stat_progress_copy on 14+, table sizes otherwise). Per database:
// lag in bytes (the source's current WAL position minus the slot's
// confirmed_flush_lsn, i.e. WAL not yet applied and flushed on the target,
// including WAL not yet sent) and in seconds, WAL retained by the slot, slot
// health (and why PostgreSQL invalidated it), subscription enabled, error
// counters (15+), this subscription's last error from the target's log (the
// conflicting key of a unique violation), schema drift since start
// (drift.ts), and a list of problems in words. Needs nothing to exist:
// before `start` it says so.
// The shape of DatabaseStatus is the documented `status --json` contract
// (docs/replication.md); add fields, never rename them.

import type { Config } from '../config/config.js';
import { PgshiftError } from '../errors.js';
import { connect, type Db } from '../pg/connect.js';
import { lsnDiff } from '../pg/lsn.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { quoteIdent } from '../pg/quote.js';
import { namesFor } from '../replication/names.js';
import { databaseConfig } from '../config/config.js';
import { findPublication, findSlot, findSubscription, type SlotInfo, type SubscriptionInfo } from '../replication/subscription.js';
import { describeLogError, lastReplicationError, type ReplicationLogError } from '../replication/apply-errors.js';
import { driftProblems, findSchemaDrift, type SchemaDrift } from '../checks/drift.js';
import { invalidationText, reportedReason, slotHealth, slotInvalidated, type SlotHealth } from '../checks/replication-health.js';
import { FenceWatch, fenceProblems, type FenceInfo } from '../switchover/fence-status.js';
import type { StatusSample } from '../events.js';
import { reverseColumnProblems } from '../switchover/reverse.js';
import { subscriptionState } from '../replication/subscription.js';

/** pg_subscription_rel.srsubstate, in words. */
export type SyncState = 'init' | 'copying' | 'copied' | 'syncing' | 'ready' | 'unknown';

const STATE_NAMES: Record<string, SyncState> = { i: 'init', d: 'copying', f: 'copied', s: 'syncing', r: 'ready' };

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
  /** Everything that needs attention, in words; empty when healthy. */
  problems: string[];
  /** Writes paused by pgshift on a side (switchover/rollback fence records), with how to undo them. */
  fence?: { source: FenceInfo | null; target: FenceInfo | null };
}

interface WorkerRow {
  pid: number | null;
  relid: number | null;
  leader_pid?: number | null;
  latest_end_time: string | null;
}

const DRIFT_EVERY_MS = 10_000;

/**
 * A status probe holding its two connections, for callers that look again
 * and again (wait, status --watch). getStatus() opens and closes its own.
 */
export class StatusProbe {
  private source?: Db;
  private target?: Db;
  private targetMissing = false;
  private fences?: FenceWatch;
  private drift?: { at: number; value: SchemaDrift };
  private lastCounts?: { apply: number; sync: number };
  /** The target's wal_receiver_status_interval, read once per probe (wait looks every second). */
  private statusIntervalS?: number;

  constructor(readonly config: Config, readonly database: string) {
    databaseConfig(config, database);
  }

  private async sourceDb(): Promise<Db> {
    this.source ??= await connect('source', this.config.source, { database: this.database, applicationName: 'pgshift-status' });
    return this.source;
  }

  private async targetDb(): Promise<Db | undefined> {
    if (this.target) return this.target;
    try {
      this.target = await connect('target', this.config.target, { database: this.database, applicationName: 'pgshift-status' });
      this.targetMissing = false;
      return this.target;
    } catch (e) {
      if (e instanceof PgshiftError && e.code === 'no_database') {
        this.targetMissing = true;
        return undefined;
      }
      throw e;
    }
  }

  /**
   * Stop the subscription: `wait` does this when an apply error on a table
   * repeats (a conflicting row), so the worker stops retrying. Nothing is
   * skipped: once enabled again it resumes from the failed transaction.
   */
  async disableSubscription(): Promise<void> {
    const target = await this.targetDb();
    if (!target) return;
    await target.query(`ALTER SUBSCRIPTION ${quoteIdent(namesFor(this.database).subscription)} DISABLE`);
  }

  /** Drop the connections (after an error), so the next look reconnects. */
  async reset(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    const s = this.source;
    const t = this.target;
    const f = this.fences;
    this.source = undefined;
    this.target = undefined;
    this.fences = undefined;
    await Promise.all([s?.close(), t?.close(), f?.close()]);
  }

  /**
   * Schema drift, looked at again at most every DRIFT_EVERY_MS by one probe:
   * it reads both catalogs' columns, more than a poll every second (wait)
   * needs; a single status always looks.
   */
  private async currentDrift(source: Db, target: Db, publication: string): Promise<SchemaDrift> {
    if (this.drift && Date.now() - this.drift.at < DRIFT_EVERY_MS) return this.drift.value;
    const value = await findSchemaDrift(source, target, databaseConfig(this.config, this.database), publication);
    this.drift = { at: Date.now(), value };
    return value;
  }

  /** The rollback path after a switchover: the reverse subscription on the source and its slot on the target. */
  private async reverseLook(source: Db, target: Db): Promise<{ info: NonNullable<DatabaseStatus['reverse']>; problems: string[] }> {
    const names = namesFor(this.database);
    const sub = await findSubscription(source, names.reverseSubscription);
    const slot = await findSlot(target, names.reverseSlot);
    const health = slot ? await slotHealth(target, names.reverseSlot) : undefined;
    const state = sub ? await subscriptionState(source, names.reverseSubscription) : undefined;
    const { lsn } = await target.one<{ lsn: string }>('SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn');
    const broken = sub ? await reverseColumnProblems(source, target, names.reversePublication) : [];
    const logError = sub ? await lastReplicationError(source, { name: sub.name, oid: sub.oid }) : null;
    const info = {
      subscription: names.reverseSubscription,
      subscriptionExists: Boolean(sub),
      enabled: sub ? sub.enabled : null,
      slot: names.reverseSlot,
      slotExists: Boolean(slot),
      active: slot ? slot.active : null,
      walStatus: slot?.walStatus ?? null,
      invalidationReason: reportedReason(health),
      applyWorkerPid: state?.worker_pid ?? null,
      confirmedFlushLsn: slot?.confirmedFlushLsn ?? null,
      lagBytes: slot?.confirmedFlushLsn ? Number(lsnDiff(lsn, slot.confirmedFlushLsn)) : null,
      columnProblems: broken,
      lastError: logError ? describeLogError(logError) : null,
    };
    const problems: string[] = [];
    const noRollback = 'a rollback cannot carry the target\'s writes until this is fixed (pgshift rollback refuses)';
    const lost = Boolean(slot && (slot.walStatus === 'lost' || slotInvalidated(health)));
    if (lost) {
      problems.push(`reverse replication slot ${names.reverseSlot} on the target is lost: ${health ? invalidationText(health) : 'the target removed WAL it still needed'}; the source can no longer receive the target's writes, so a rollback is not possible (pgshift rollback refuses). The target keeps the writes; when the source is no longer needed: pgshift cleanup ${this.database}`);
    }
    if (broken.length > 0) {
      problems.push(`reverse replication target -> source is broken: ${broken.slice(0, 5).join('; ')}${broken.length > 5 ? '; ...' : ''}; the source's apply worker stops at the first change that carries such a column, and ${noRollback}. Give the source those columns (nullable or with a default) so it can take them`);
    }
    // A lost slot says it all: enabling or restarting the subscription cannot bring it back.
    if (lost) return { info, problems };
    if (sub && !sub.enabled) {
      // sql-lint: safe (advice for the user; the name in the SQL is quoted)
      problems.push(`reverse subscription ${names.reverseSubscription} on the source is disabled: the target's writes do not reach the source, and ${noRollback}; once the cause is fixed: ALTER SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} ENABLE on the source`);
    } else if (sub && (logError?.recent || !state?.worker_pid)) {
      problems.push(`reverse replication target -> source is not applying: ${logError?.recent ? `the source's log shows ${describeLogError(logError)}` : 'no apply worker is running for it on the source (PostgreSQL restarts it after an error or a lost connection)'}; ${noRollback}`);
    }
    return { info, problems };
  }

  async look(): Promise<DatabaseStatus> {
    const names = namesFor(this.database);
    const source = await this.sourceDb();
    const target = await this.targetDb();
    const problems: string[] = [];

    // One connection runs one query at a time.
    const pub = await findPublication(source, names.publication);
    const slot = await findSlot(source, names.slot);
    const src = await source.one<{ lsn: string; walsender_pid: number | null; walsender_state: string | null; replay_lag_s: number | null; reply_age_s: number | null }>(sqlFor('status-source', source.version), [names.subscription]);
    const sourceTables = pub ? await source.query<{ schema: string; name: string; bytes: string }>(sqlFor('status-source-tables', source.version), [names.publication]) : [];
    const sourceBytes = new Map(sourceTables.map((t) => [`${t.schema}\u0000${t.name}`, Number(t.bytes)]));

    let sub: SubscriptionInfo | undefined;
    let tables: TableStatus[] = [];
    let applyWorkerPid: number | null = null;
    const workerList: DatabaseStatus['workers'] = [];
    let latestEndAgeS: number | null = null;
    let errors: DatabaseStatus['errors'] = { apply: null, sync: null, last: null, lastDetail: null, lastRelation: null, lastAt: null };
    let logError: ReplicationLogError | null = null;
    let drift: SchemaDrift | null = null;
    if (target) {
      sub = await findSubscription(target, names.subscription);
      if (sub) {
        const rows = await target.query<{ oid: string; schema: string; name: string; state: string; bytes: string }>(sqlFile('status-target-tables'), [names.subscription]);
        const progress = new Map<number, { rows: number; bytes: number }>();
        if (featuresOf(target.version).progressCopy) {
          for (const p of await target.query<{ relid: string; rows: string; bytes: string }>(sqlFile('status-copy-progress'))) {
            progress.set(Number(p.relid), { rows: Number(p.rows), bytes: Number(p.bytes) });
          }
        }
        tables = rows.map((r) => ({
          schema: r.schema,
          name: r.name,
          state: STATE_NAMES[r.state] ?? 'unknown',
          stateCode: r.state,
          copy: progress.get(Number(r.oid)) ?? null,
          sourceBytes: sourceBytes.get(`${r.schema}\u0000${r.name}`) ?? null,
          targetBytes: Number(r.bytes),
        }));
        const workers = await target.query<{ w: WorkerRow; now: Date }>(sqlFile('status-workers'), [sub.oid]);
        const tableName = new Map(rows.map((r) => [Number(r.oid), `${r.schema}.${r.name}`]));
        for (const x of workers) {
          if (x.w.pid === null) continue;
          workerList.push({ pid: Number(x.w.pid), table: x.w.relid === null ? null : tableName.get(Number(x.w.relid)) ?? String(x.w.relid) });
        }
        const apply = workers.find((x) => x.w.relid === null && x.w.pid !== null && (x.w.leader_pid ?? null) === null);
        if (apply) {
          applyWorkerPid = Number(apply.w.pid);
          if (apply.w.latest_end_time) latestEndAgeS = Math.max(0, (apply.now.getTime() - Date.parse(apply.w.latest_end_time)) / 1000);
        }
        if (featuresOf(target.version).subscriptionStats) {
          const st = await target.maybeOne<{ apply_error_count: string; sync_error_count: string }>(sqlFile('status-subscription-stats'), [sub.oid]);
          errors = { ...errors, apply: Number(st?.apply_error_count ?? 0), sync: Number(st?.sync_error_count ?? 0) };
        }
        logError = await lastReplicationError(target, { name: sub.name, oid: sub.oid });
        if (logError) errors = { ...errors, last: logError.line, lastDetail: logError.detail, lastRelation: logError.relation, lastAt: logError.at };
      }
      if (pub) drift = await this.currentDrift(source, target, names.publication);
    }
    const health = slot ? await slotHealth(source, names.slot) : undefined;
    if (target) this.statusIntervalS ??= await receiverStatusInterval(target);
    const statusIntervalS = this.statusIntervalS ?? DEFAULT_STATUS_INTERVAL_S;
    const staleReplyS = Math.max(3 * statusIntervalS, 3);

    const lagBytes = slot?.confirmedFlushLsn ? Number(lsnDiff(src.lsn, slot.confirmedFlushLsn)) : null;
    const walRetainedBytes = slot?.restartLsn ? Number(lsnDiff(src.lsn, slot.restartLsn)) : null;
    let lagSeconds: number | null = null;
    if (lagBytes === 0) lagSeconds = 0;
    else if (src.replay_lag_s !== null && src.replay_lag_s !== undefined) lagSeconds = Number(src.replay_lag_s);
    else if (latestEndAgeS !== null && lagBytes !== null) lagSeconds = latestEndAgeS;

    const tablesReady = tables.filter((t) => t.state === 'ready').length;
    const copiedBytes = tables.reduce((sum, t) => sum + (t.copy ? t.copy.bytes : t.state === 'init' ? 0 : t.targetBytes), 0);

    this.fences ??= new FenceWatch(this.config, this.database);
    const fence = await this.fences.look();
    // After a finished switchover the forward subscription is gone on purpose: not a problem, a phase.
    const switchedOver = !sub && fence.source?.direction === 'switchover' && fence.source.phase === 'done';

    // Problems, in the words a person needs to act on them.
    if (!pub && !switchedOver) problems.push(`publication ${names.publication} does not exist on the source (run "pgshift start ${this.database}")`);
    if (this.targetMissing) problems.push(`database "${this.database}" does not exist on the target (run "pgshift schema ${this.database}")`);
    else if (!sub && !switchedOver) problems.push(`subscription ${names.subscription} does not exist on the target (run "pgshift start ${this.database}")`);
    // sql-lint: safe (a message for the user; the name in the SQL is quoted)
    if (sub && !sub.enabled) problems.push(`subscription ${names.subscription} is disabled: pgshift wait stops it when an apply error repeats, or someone disabled it (see the target's server log); fix the cause, then ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} ENABLE`);
    if (sub && !sub.enabled && logError) {
      problems.push(`the apply error that stopped subscription ${names.subscription}: ${describeLogError(logError)}${/already exists/.test(logError.detail ?? '') ? '; that row is already on the target: delete or change it there, then enable the subscription (the source row arrives then; nothing is skipped)' : ''}`);
    }
    if (sub?.enabled && logError?.recent) {
      // A failing apply worker restarts and retries: a fresh error in the log is the clearest sign.
      problems.push(`replication error in the target's log: ${describeLogError(logError)}; the apply worker retries, and fails again until the cause is fixed (for a duplicate key: delete or change that row on the target; "pgshift wait" stops the subscription when the error repeats)`);
    }
    if (sub && !slot) problems.push(`replication slot ${names.slot} does not exist on the source: the subscription cannot receive changes; run "pgshift cleanup ${this.database}" and start again`);
    problems.push(...slotProblems(slot, health, sub, applyWorkerPid, this.config, this.database));
    // The slot looks in use until wal_sender_timeout ends a connection that
    // went silent (60 s by default; never when 0); a subscriber replies at
    // least every wal_receiver_status_interval, so a much older reply means
    // the connection is likely cut now.
    const replyAgeS = src.reply_age_s === null || src.reply_age_s === undefined ? null : Number(src.reply_age_s);
    const replyStale = Boolean(slot?.active) && replyAgeS !== null && replyAgeS > staleReplyS;
    if (replyStale) {
      problems.push(`the source's walsender (pid ${src.walsender_pid}) has heard nothing from the target for ${Math.round(replyAgeS)} s (it replies at least every ${statusIntervalS} s): the connection is probably cut or the target is stuck; PostgreSQL ends it after wal_sender_timeout and reconnects when it can: check the network between the servers`);
    }
    const reverse = switchedOver && target ? await this.reverseLook(source, target) : null;
    if (reverse) problems.push(...reverse.problems);
    if (drift) problems.push(...driftProblems(drift, this.database));
    problems.push(...fenceProblems(fence));
    // The counters never go down: one network blip counts too. They are a
    // problem while errors keep coming (a recent one in the log, or the
    // counter rising between two looks of this probe), not forever after.
    const rising = this.lastCounts !== undefined && ((errors.apply ?? 0) > this.lastCounts.apply || (errors.sync ?? 0) > this.lastCounts.sync);
    const erring = rising || Boolean(logError?.recent) || (sub?.enabled === true && applyWorkerPid === null);
    this.lastCounts = { apply: errors.apply ?? 0, sync: errors.sync ?? 0 };
    if (erring && errors.apply) problems.push(`${errors.apply} apply error(s) since the subscription was created, the last one recent: see the target's server log`);
    if (erring && errors.sync) problems.push(`${errors.sync} table sync error(s) since the subscription was created, the last one recent: see the target's server log`);
    // A table published without a usable identity refuses the application's UPDATE and DELETE
    // (a partition created after start is published through its root without one).
    const unsafe = async (db: Db, publication: string, where: string, fix: string): Promise<void> => {
      const rows = await db.query<{ schema: string; name: string }>(sqlFile('published-without-identity'), [publication]);
      if (rows.length === 0) return;
      // sql-lint: safe (a message for the user, not SQL)
      problems.push(`UPDATE and DELETE fail on the ${where} for ${rows.length} table(s) publication ${publication} publishes without a usable replica identity: ${rows.slice(0, 5).map((r) => `${r.schema}.${r.name}`).join(', ')}${rows.length > 5 ? ', ...' : ''} (a partition created after the publication?); ${fix}`);
    };
    if (pub) await unsafe(source, names.publication, 'source', `run "pgshift start ${this.database}" again: it gives them one`);
    if (switchedOver && target) await unsafe(target, names.reversePublication, 'target (the new primary)', 'give each a primary key or ALTER TABLE ... REPLICA IDENTITY FULL on the target');
    if (pub && sub) {
      const subscribed = new Set(tables.map((t) => `${t.schema}\u0000${t.name}`));
      const missing = sourceTables.filter((t) => !subscribed.has(`${t.schema}\u0000${t.name}`));
      if (missing.length > 0) problems.push(`${missing.length} published table(s) not yet subscribed (e.g. ${missing[0]!.schema}.${missing[0]!.name}): run "pgshift start ${this.database}" again`);
    }

    let phase: Phase = 'not started';
    if (switchedOver) phase = 'switched over';
    else if (sub && !sub.enabled) phase = 'stopped';
    else if (sub) phase = tablesReady === tables.length ? 'streaming' : 'copying';

    const rolledBack = !switchedOver && fence.target?.direction === 'rollback' && fence.target.phase === 'done';
    const replication = switchedOver
      ? (reverse?.info?.enabled ? 'target -> source' as const : null)
      : (sub?.enabled ? 'source -> target' as const : null);
    return {
      database: this.database,
      time: new Date().toISOString(),
      phase,
      replication,
      writesTo: switchedOver ? 'target' : 'source',
      rolledBack,
      source: { version: source.version.text, lsn: src.lsn },
      walsender: src.walsender_pid === null || src.walsender_pid === undefined ? null : {
        pid: Number(src.walsender_pid),
        state: src.walsender_state ?? '',
        replyAgeSeconds: replyAgeS,
        stale: replyStale,
      },
      target: { version: target?.version.text ?? '', databaseExists: Boolean(target) },
      publication: { name: names.publication, exists: Boolean(pub), tables: sourceTables.length },
      subscription: { name: names.subscription, exists: Boolean(sub), enabled: sub ? sub.enabled : null, applyWorkerPid },
      workers: workerList,
      slot: {
        name: names.slot,
        exists: Boolean(slot),
        active: slot ? slot.active : null,
        walStatus: slot?.walStatus ?? null,
        restartLsn: slot?.restartLsn ?? null,
        confirmedFlushLsn: slot?.confirmedFlushLsn ?? null,
        invalidationReason: reportedReason(health),
        safeWalBytes: health?.safeWalSize ?? null,
      },
      reverse: reverse?.info ?? null,
      tables,
      tablesReady,
      tablesTotal: tables.length,
      copiedBytes,
      lagBytes,
      lagSeconds,
      walRetainedBytes,
      errors,
      drift,
      problems,
      fence,
    };
  }
}

function slotProblems(slot: SlotInfo | undefined, health: SlotHealth | undefined, sub: SubscriptionInfo | undefined, applyWorkerPid: number | null, config: Config, database: string): string[] {
  if (!slot) return [];
  const out: string[] = [];
  // Every invalidation (WAL removed, idle too long, ...) shows as wal_status lost; the reason says which.
  if (slot.walStatus === 'lost' || slotInvalidated(health)) {
    out.push(`replication slot ${slot.name} is lost: ${health ? invalidationText(health) : 'the source removed WAL it still needed'}; the subscription cannot continue: run "pgshift cleanup ${database}" and start again`);
  } else if (slot.walStatus === 'unreserved') {
    out.push(`replication slot ${slot.name} is about to lose WAL it needs (wal_status unreserved): the target must catch up now, or raise max_slot_wal_keep_size on the source`);
  }
  if (sub?.enabled && !slot.active) {
    // Name the address the target server dials (not the one pgshift used): after a restart or a network cut that is what to check.
    const peer = config.source.connFromPeer;
    const where = `host ${(peer ?? config.source.conn).host ?? '(default)'} port ${(peer ?? config.source.conn).port ?? '5432'} (${peer ? 'source.conn_from_target' : 'source.conn; set source.conn_from_target if the target server sees the source elsewhere'})`;
    out.push(applyWorkerPid !== null
      ? `replication slot ${slot.name} is not in use: the subscription's apply worker (pid ${applyWorkerPid}) is running but not streaming from the source; if this lasts, the target server cannot reach the source at ${where}: check the network between them; the target's server log says why`
      : `replication slot ${slot.name} is not in use: no apply worker is running for the subscription (PostgreSQL restarts it after an error or a lost connection); if this lasts, the target server cannot reach the source at ${where}, or an error repeats: see the target's server log`);
  }
  return out;
}

const DEFAULT_STATUS_INTERVAL_S = 10;

/** wal_receiver_status_interval on the target, in seconds (0 = only when asked: then wal_sender_timeout's keepalives). */
async function receiverStatusInterval(target: Db): Promise<number> {
  const r = await target.one<{ s: number }>("SELECT EXTRACT(epoch FROM pg_catalog.current_setting('wal_receiver_status_interval')::interval)::float8 AS s");
  const s = Number(r.s);
  return s > 0 ? s : DEFAULT_STATUS_INTERVAL_S * 3;
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

/** One look at one database's replication. */
export async function getStatus(config: Config, database: string): Promise<DatabaseStatus> {
  const probe = new StatusProbe(config, database);
  try {
    return await probe.look();
  } finally {
    await probe.close();
  }
}
