// Where forward replication of one database stands (read-only), gathered
// from both clusters' catalogs and statistics views: the publication, the
// slot and its health, the source's walsender, the subscription's tables with
// copy progress (pg_stat_progress_copy on 14+), its workers, error counters
// (15+) and last logged error, schema drift (checks/drift.ts), the fence
// records, and after a switchover the rollback path. StatusProbe holds its
// two connections for callers that look again and again (wait, status
// --watch); what the facts mean (phase, lag, problems) is derive.ts. Needs
// nothing to exist: before `start` it says so.

import type { Config } from '../config/config.js';
import { databaseConfig } from '../config/config.js';
import { PgshiftError } from '../errors.js';
import { connect, type Db } from '../pg/connect.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { quoteIdent } from '../pg/quote.js';
import { namesFor } from '../replication/names.js';
import { findPublication, findSlot, findSubscription, subscriptionState, type SubscriptionInfo } from '../replication/subscription.js';
import { lastReplicationError } from '../replication/apply-errors.js';
import { findSchemaDrift, type SchemaDrift } from '../checks/drift.js';
import { slotHealth } from '../checks/replication-health.js';
import { FenceWatch } from '../switchover/fence-status.js';
import { reverseColumnProblems } from '../switchover/reverse.js';
import { STATE_NAMES, type DatabaseStatus } from './model.js';
import { deriveStatus, isSwitchedOver, type ReverseFacts, type SourcePosition, type StatusFacts } from './derive.js';

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

  /** The rollback path after a switchover, as read: the reverse subscription on the source, its slot on the target. */
  private async gatherReverse(source: Db, target: Db): Promise<ReverseFacts> {
    const names = namesFor(this.database);
    const subscription = await findSubscription(source, names.reverseSubscription);
    const slot = await findSlot(target, names.reverseSlot);
    const state = subscription ? await subscriptionState(source, names.reverseSubscription) : undefined;
    return {
      subscription,
      slot,
      health: slot ? await slotHealth(target, names.reverseSlot) : undefined,
      applyWorkerPid: state?.worker_pid ?? null,
      targetLsn: (await target.one<{ lsn: string }>('SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn')).lsn,
      columnProblems: subscription ? await reverseColumnProblems(source, target, names.reversePublication) : [],
      logError: subscription ? await lastReplicationError(source, { name: subscription.name, oid: subscription.oid }) : null,
      unsafe: await target.query<{ schema: string; name: string }>(sqlFile('published-without-identity'), [names.reversePublication]),
    };
  }

  /** The forward subscription on the target, as read: its tables with copy progress, workers, error counters and last logged error. */
  private async gatherSubscription(target: Db, sub: SubscriptionInfo, sourceTables: StatusFacts['sourceTables']): Promise<Pick<StatusFacts, 'tables' | 'workers' | 'applyWorkerPid' | 'latestEndAgeS' | 'errors' | 'logError'>> {
    const names = namesFor(this.database);
    const rows = await target.query<{ oid: string; schema: string; name: string; state: string; bytes: string }>(sqlFile('status-target-tables'), [names.subscription]);
    const progress = new Map<number, { rows: number; bytes: number }>();
    if (featuresOf(target.version).progressCopy) {
      for (const p of await target.query<{ relid: string; rows: string; bytes: string }>(sqlFile('status-copy-progress'))) {
        progress.set(Number(p.relid), { rows: Number(p.rows), bytes: Number(p.bytes) });
      }
    }
    const sourceBytes = new Map(sourceTables.map((t) => [`${t.schema}\u0000${t.name}`, Number(t.bytes)]));
    const tables = rows.map((r) => ({
      schema: r.schema,
      name: r.name,
      state: STATE_NAMES[r.state] ?? 'unknown',
      stateCode: r.state,
      copy: progress.get(Number(r.oid)) ?? null,
      sourceBytes: sourceBytes.get(`${r.schema}\u0000${r.name}`) ?? null,
      targetBytes: Number(r.bytes),
    }));
    const workerRows = await target.query<{ w: WorkerRow; now: Date }>(sqlFile('status-workers'), [sub.oid]);
    const tableName = new Map(rows.map((r) => [Number(r.oid), `${r.schema}.${r.name}`]));
    const workers = workerRows.filter((x) => x.w.pid !== null)
      .map((x) => ({ pid: Number(x.w.pid), table: x.w.relid === null ? null : tableName.get(Number(x.w.relid)) ?? String(x.w.relid) }));
    const apply = workerRows.find((x) => x.w.relid === null && x.w.pid !== null && (x.w.leader_pid ?? null) === null);
    let errors: DatabaseStatus['errors'] = { apply: null, sync: null, last: null, lastDetail: null, lastRelation: null, lastAt: null };
    if (featuresOf(target.version).subscriptionStats) {
      const st = await target.maybeOne<{ apply_error_count: string; sync_error_count: string }>(sqlFile('status-subscription-stats'), [sub.oid]);
      errors = { ...errors, apply: Number(st?.apply_error_count ?? 0), sync: Number(st?.sync_error_count ?? 0) };
    }
    const logError = await lastReplicationError(target, { name: sub.name, oid: sub.oid });
    if (logError) errors = { ...errors, last: logError.line, lastDetail: logError.detail, lastRelation: logError.relation, lastAt: logError.at };
    return {
      tables,
      workers,
      applyWorkerPid: apply ? Number(apply.w.pid) : null,
      latestEndAgeS: apply?.w.latest_end_time ? Math.max(0, (apply.now.getTime() - Date.parse(apply.w.latest_end_time)) / 1000) : null,
      errors,
      logError,
    };
  }

  /** Everything one look needs, read from both clusters (one query at a time per connection). */
  private async gather(): Promise<StatusFacts> {
    const names = namesFor(this.database);
    const source = await this.sourceDb();
    const target = await this.targetDb();
    const publication = await findPublication(source, names.publication);
    const slot = await findSlot(source, names.slot);
    const position = await source.one<SourcePosition>(sqlFor('status-source', source.version), [names.subscription]);
    const sourceTables = publication ? await source.query<{ schema: string; name: string; bytes: string }>(sqlFor('status-source-tables', source.version), [names.publication]) : [];
    const subscription = target ? await findSubscription(target, names.subscription) : undefined;
    const forward = target && subscription ? await this.gatherSubscription(target, subscription, sourceTables) : {
      tables: [], workers: [], applyWorkerPid: null, latestEndAgeS: null, logError: null,
      errors: { apply: null, sync: null, last: null, lastDetail: null, lastRelation: null, lastAt: null },
    };
    const drift = target && publication ? await this.currentDrift(source, target, names.publication) : null;
    if (target) this.statusIntervalS ??= await receiverStatusInterval(target);
    this.fences ??= new FenceWatch(this.config, this.database);
    const fence = await this.fences.look();
    const switchedOver = isSwitchedOver(Boolean(subscription), fence);
    const counts = { apply: forward.errors.apply ?? 0, sync: forward.errors.sync ?? 0 };
    const countersRising = this.lastCounts !== undefined && (counts.apply > this.lastCounts.apply || counts.sync > this.lastCounts.sync);
    this.lastCounts = counts;
    return {
      config: this.config,
      database: this.database,
      names,
      time: new Date().toISOString(),
      sourceVersion: source.version.text,
      targetVersion: target?.version.text ?? '',
      targetMissing: this.targetMissing,
      publication,
      slot,
      health: slot ? await slotHealth(source, names.slot) : undefined,
      position,
      sourceTables,
      subscription,
      ...forward,
      countersRising,
      drift,
      statusIntervalS: this.statusIntervalS ?? DEFAULT_STATUS_INTERVAL_S,
      fence,
      unsafe: publication ? await source.query<{ schema: string; name: string }>(sqlFile('published-without-identity'), [names.publication]) : [],
      reverse: switchedOver && target ? await this.gatherReverse(source, target) : null,
    };
  }

  async look(): Promise<DatabaseStatus> {
    return deriveStatus(await this.gather());
  }
}

const DEFAULT_STATUS_INTERVAL_S = 10;

/** wal_receiver_status_interval on the target, in seconds (0 = only when asked: then wal_sender_timeout's keepalives). */
async function receiverStatusInterval(target: Db): Promise<number> {
  const r = await target.one<{ s: number }>("SELECT EXTRACT(epoch FROM pg_catalog.current_setting('wal_receiver_status_interval')::interval)::float8 AS s");
  const s = Number(r.s);
  return s > 0 ? s : DEFAULT_STATUS_INTERVAL_S * 3;
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
