// Step "status" (read-only): where forward replication of one database
// stands, from both clusters' catalogs and statistics views. Per table: the
// subscription's sync state and, during the initial copy, rows and bytes
// copied (pg_stat_progress_copy on 14+, table sizes otherwise). Per database:
// lag in bytes (the source's current WAL position minus the slot's
// confirmed_flush_lsn, i.e. WAL not yet applied and flushed on the target,
// including WAL not yet sent) and in seconds, WAL retained by the slot, slot
// health, subscription enabled, error counters (15+), and a list of problems
// in words. Needs nothing to exist: before `start` it says so.
// The shape of DatabaseStatus is the documented `status --json` contract
// (docs/replication.md); add fields, never rename them.

import type { Config } from '../config/config.js';
import { PgshiftError } from '../errors.js';
import { connect, type Db } from '../pg/connect.js';
import { lsnDiff } from '../pg/lsn.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { quoteIdent } from '../pg/quote.js';
import { namesFor } from './names.js';
import { databaseConfig } from '../config/config.js';
import { findPublication, findSlot, findSubscription, type SlotInfo, type SubscriptionInfo } from './subscription.js';

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

export type Phase = 'not started' | 'copying' | 'streaming' | 'stopped';

export interface DatabaseStatus {
  database: string;
  /** When this was measured (ISO 8601). */
  time: string;
  phase: Phase;
  source: { version: string; lsn: string };
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
  };
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
  /** Counters from pg_stat_subscription_stats (target 15+; null before). */
  errors: { apply: number | null; sync: number | null; last: string | null };
  /** Everything that needs attention, in words; empty when healthy. */
  problems: string[];
}

interface WorkerRow {
  pid: number | null;
  relid: number | null;
  leader_pid?: number | null;
  latest_end_time: string | null;
}

/**
 * A status probe holding its two connections, for callers that look again
 * and again (wait, status --watch). getStatus() opens and closes its own.
 */
export class StatusProbe {
  private source?: Db;
  private target?: Db;
  private targetMissing = false;

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

  /** Drop the connections (after an error), so the next look reconnects. */
  async reset(): Promise<void> {
    await this.close();
  }

  async close(): Promise<void> {
    const s = this.source;
    const t = this.target;
    this.source = undefined;
    this.target = undefined;
    await Promise.all([s?.close(), t?.close()]);
  }

  async look(): Promise<DatabaseStatus> {
    const names = namesFor(this.database);
    const source = await this.sourceDb();
    const target = await this.targetDb();
    const problems: string[] = [];

    // One connection runs one query at a time.
    const pub = await findPublication(source, names.publication);
    const slot = await findSlot(source, names.slot);
    const src = await source.one<{ lsn: string; walsender_state: string | null; replay_lag_s: number | null }>(sqlFile('status-source'), [names.subscription]);
    const sourceTables = pub ? await source.query<{ schema: string; name: string; bytes: string }>(sqlFile('status-source-tables'), [names.publication]) : [];
    const sourceBytes = new Map(sourceTables.map((t) => [`${t.schema}\u0000${t.name}`, Number(t.bytes)]));

    let sub: SubscriptionInfo | undefined;
    let tables: TableStatus[] = [];
    let applyWorkerPid: number | null = null;
    const workerList: DatabaseStatus['workers'] = [];
    let latestEndAgeS: number | null = null;
    let errors: DatabaseStatus['errors'] = { apply: null, sync: null, last: null };
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
          errors = { apply: Number(st?.apply_error_count ?? 0), sync: Number(st?.sync_error_count ?? 0), last: null };
        }
        errors.last = await lastReplicationError(target);
      }
    }

    const lagBytes = slot?.confirmedFlushLsn ? Number(lsnDiff(src.lsn, slot.confirmedFlushLsn)) : null;
    const walRetainedBytes = slot?.restartLsn ? Number(lsnDiff(src.lsn, slot.restartLsn)) : null;
    let lagSeconds: number | null = null;
    if (lagBytes === 0) lagSeconds = 0;
    else if (src.replay_lag_s !== null && src.replay_lag_s !== undefined) lagSeconds = Number(src.replay_lag_s);
    else if (latestEndAgeS !== null && lagBytes !== null) lagSeconds = latestEndAgeS;

    const tablesReady = tables.filter((t) => t.state === 'ready').length;
    const copiedBytes = tables.reduce((sum, t) => sum + (t.copy ? t.copy.bytes : t.state === 'init' ? 0 : t.targetBytes), 0);

    // Problems, in the words a person needs to act on them.
    if (!pub) problems.push(`publication ${names.publication} does not exist on the source (run "pgshift start ${this.database}")`);
    if (this.targetMissing) problems.push(`database "${this.database}" does not exist on the target (run "pgshift schema ${this.database}")`);
    else if (!sub) problems.push(`subscription ${names.subscription} does not exist on the target (run "pgshift start ${this.database}")`);
    // sql-lint: safe (a message for the user; the name in the SQL is quoted)
    if (sub && !sub.enabled) problems.push(`subscription ${names.subscription} is disabled: an apply error stops it (see the target's server log), fix the cause, then ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} ENABLE`);
    if (sub && !slot) problems.push(`replication slot ${names.slot} does not exist on the source: the subscription cannot receive changes; run "pgshift cleanup ${this.database}" and start again`);
    problems.push(...slotProblems(slot, sub));
    if (errors.apply) problems.push(`${errors.apply} apply error(s) since the subscription was created`);
    if (errors.sync) problems.push(`${errors.sync} table sync error(s) since the subscription was created`);
    if (pub && sub) {
      const subscribed = new Set(tables.map((t) => `${t.schema}\u0000${t.name}`));
      const missing = sourceTables.filter((t) => !subscribed.has(`${t.schema}\u0000${t.name}`));
      if (missing.length > 0) problems.push(`${missing.length} published table(s) not yet subscribed (e.g. ${missing[0]!.schema}.${missing[0]!.name}): run "pgshift start ${this.database}" again`);
    }

    let phase: Phase = 'not started';
    if (sub && !sub.enabled) phase = 'stopped';
    else if (sub) phase = tablesReady === tables.length ? 'streaming' : 'copying';

    return {
      database: this.database,
      time: new Date().toISOString(),
      phase,
      source: { version: source.version.text, lsn: src.lsn },
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
      },
      tables,
      tablesReady,
      tablesTotal: tables.length,
      copiedBytes,
      lagBytes,
      lagSeconds,
      walRetainedBytes,
      errors,
      problems,
    };
  }
}

function slotProblems(slot: SlotInfo | undefined, sub: SubscriptionInfo | undefined): string[] {
  if (!slot) return [];
  const out: string[] = [];
  if (slot.walStatus === 'lost') {
    out.push(`replication slot ${slot.name} is lost: the source removed WAL it still needed (max_slot_wal_keep_size); the subscription cannot continue: run "pgshift cleanup" and start again`);
  } else if (slot.walStatus === 'unreserved') {
    out.push(`replication slot ${slot.name} is about to lose WAL it needs (wal_status unreserved): the target must catch up now, or raise max_slot_wal_keep_size on the source`);
  }
  if (sub?.enabled && !slot.active) out.push(`replication slot ${slot.name} is not in use: the subscription's apply worker is not connected to the source (starting, restarting after an error, or unable to connect)`);
  return out;
}

/**
 * The last logical replication error in the target's server log, when the log
 * is readable from SQL (logging_collector on, and a superuser or
 * pg_read_server_files); null otherwise.
 */
async function lastReplicationError(target: Db): Promise<string | null> {
  try {
    const f = await target.maybeOne<{ path: string | null }>('SELECT pg_catalog.pg_current_logfile() AS path');
    if (!f?.path) return null;
    const tail = await target.one<{ text: string }>(
      'SELECT pg_catalog.pg_read_file($1, GREATEST((pg_catalog.pg_stat_file($1)).size - 65536, 0), 65536) AS text', [f.path]);
    // An apply error's own line names no subscription; the CONTEXT line after it names the replication origin.
    const lines = tail.text.split('\n');
    let last: string | null = null;
    lines.forEach((l, i) => {
      if (/ERROR:/.test(l) && (/logical replication/i.test(l) || /CONTEXT:.*replication origin/.test(lines[i + 1] ?? ''))) last = l.trim();
    });
    return last;
  } catch {
    return null;
  }
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
