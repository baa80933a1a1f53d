// pgshift's metrics and where their values come from: the events a command
// sees (its own status looks, copy and verify progress, results) and the
// results other commands left in the journal (the last switchover's pause,
// the last verify). A value nobody has measured yet is absent, not zero.

import type { Outcome, PgshiftEvent, StatusSample } from '../events.js';
import type { JournalRecord } from '../journal/journal.js';
import { Registry, type MetricDef } from './registry.js';

const DB = ['database'] as const;
const DB_SIDE = ['database', 'side'] as const;

export const METRICS: readonly MetricDef[] = [
  { name: 'pgshift_lag_bytes', type: 'gauge', labels: DB, help: 'Source WAL the target has not yet confirmed applying (current WAL position minus the slot\'s confirmed_flush_lsn), from the last status look.' },
  { name: 'pgshift_lag_seconds', type: 'gauge', labels: DB, help: 'Estimated seconds the target is behind the source (pg_stat_replication replay_lag, 0 when caught up), from the last status look.' },
  { name: 'pgshift_tables_ready', type: 'gauge', labels: DB, help: 'Subscribed tables whose initial copy is done and that follow the stream (srsubstate r).' },
  { name: 'pgshift_tables_total', type: 'gauge', labels: DB, help: 'Tables in the subscription.' },
  { name: 'pgshift_copy_bytes', type: 'gauge', labels: DB, help: 'Bytes of the initial copy so far (native: running COPYs plus finished tables on the target; fast: bytes piped).' },
  { name: 'pgshift_reverse_lag_bytes', type: 'gauge', labels: DB, help: 'After a switchover: target WAL the source has not yet confirmed through reverse replication (the rollback path), from the last status look.' },
  { name: 'pgshift_slot_retained_bytes', type: 'gauge', labels: DB_SIDE, help: 'WAL the replication slot makes the server keep (current WAL position minus restart_lsn), on the side holding the slot.' },
  { name: 'pgshift_apply_errors_total', type: 'counter', labels: DB_SIDE, help: 'Apply errors of the subscription (pg_stat_subscription_stats.apply_error_count; PostgreSQL 15+), on the side running it.' },
  { name: 'pgshift_sync_errors_total', type: 'counter', labels: DB_SIDE, help: 'Initial-copy (table sync) errors of the subscription (pg_stat_subscription_stats.sync_error_count; PostgreSQL 15+).' },
  { name: 'pgshift_problems', type: 'gauge', labels: DB, help: 'Problems the last status look found (pgshift status lists them in words); 0 when healthy.' },
  { name: 'pgshift_status_timestamp_seconds', type: 'gauge', labels: DB, help: 'When the last status look was taken (Unix time): the status metrics are as old as this.' },
  { name: 'pgshift_verify_rows_compared', type: 'gauge', labels: DB, help: 'Rows compared by the running verify, or by the last one (from the journal).' },
  { name: 'pgshift_verify_tables_differing', type: 'gauge', labels: DB, help: 'Tables the last finished verify found different (0: identical).' },
  { name: 'pgshift_last_pause_ms', type: 'gauge', labels: DB_SIDE, help: 'Milliseconds writes were paused by the last switchover (side="source", whose writes paused) or rollback (side="target"), from the journal.' },
  { name: 'pgshift_last_phase_ms', type: 'gauge', labels: ['database', 'side', 'phase'], help: 'Milliseconds each phase of the last switchover (side="source") or rollback (side="target") took.' },
  { name: 'pgshift_load_transactions_total', type: 'counter', labels: DB, help: 'Transactions pgshift load has had acknowledged (COMMIT returned OK).' },
  { name: 'pgshift_load_errors_total', type: 'counter', labels: DB, help: 'Transactions of pgshift load that failed.' },
];

export class PgshiftMetrics {
  readonly registry = new Registry(METRICS);

  /** database: the command's own, for events that do not name one (progress). */
  constructor(private readonly database?: string) {}

  observe(e: PgshiftEvent): void {
    if (e.type === 'status') this.status(e.data);
    else if (e.type === 'result') this.result(e.data);
    else if (e.type === 'progress' && this.database !== undefined) {
      const db = { database: this.database };
      if (e.task === 'copy-total' && e.unit === 'bytes') this.registry.set('pgshift_copy_bytes', db, e.done);
      if (e.task === 'verify' && e.unit === 'rows') this.registry.set('pgshift_verify_rows_compared', db, e.done);
      if (e.task === 'load') {
        this.registry.set('pgshift_load_transactions_total', db, e.done);
        if (e.errors !== undefined) this.registry.set('pgshift_load_errors_total', db, e.errors);
      }
    }
  }

  /** What the journal holds of other commands: the last switchover's or rollback's pause and the last verify. */
  fromJournal(records: JournalRecord[]): void {
    for (const r of records) {
      if (r.event.type === 'result' && (r.event.data.kind === 'move' || r.event.data.kind === 'verify')) this.result(r.event.data);
    }
  }

  render(): string {
    return this.registry.render();
  }

  private status(s: StatusSample): void {
    const db = { database: s.database };
    const set = (name: string, v: number | null, labels: Record<string, string> = db): void => this.registry.set(name, labels, v);
    set('pgshift_lag_bytes', s.lagBytes);
    set('pgshift_lag_seconds', s.lagSeconds);
    set('pgshift_tables_ready', s.tablesReady);
    set('pgshift_tables_total', s.tablesTotal);
    set('pgshift_copy_bytes', s.copiedBytes);
    set('pgshift_reverse_lag_bytes', s.reverseLagBytes ?? null);
    set('pgshift_slot_retained_bytes', s.walRetainedBytes, { ...db, side: 'source' });
    set('pgshift_apply_errors_total', s.applyErrors, { ...db, side: 'target' });
    set('pgshift_sync_errors_total', s.syncErrors, { ...db, side: 'target' });
    set('pgshift_problems', s.problems);
    set('pgshift_status_timestamp_seconds', Date.parse(s.time) / 1000);
  }

  private result(o: Outcome): void {
    if (o.kind === 'verify') {
      this.registry.set('pgshift_verify_rows_compared', { database: o.database }, o.rows);
      this.registry.set('pgshift_verify_tables_differing', { database: o.database }, o.differing.length);
    } else if (o.kind === 'move' && o.pauseMs !== undefined) {
      const labels = { database: o.database, side: o.direction === 'switchover' ? 'source' : 'target' };
      this.registry.set('pgshift_last_pause_ms', labels, o.pauseMs);
      this.registry.removeWhere('pgshift_last_phase_ms', labels);
      for (const p of o.phases) this.registry.set('pgshift_last_phase_ms', { ...labels, phase: p.phase }, p.ms);
    } else if (o.kind === 'copy') {
      this.registry.set('pgshift_copy_bytes', { database: o.database }, o.bytes);
    } else if (o.kind === 'load') {
      this.registry.set('pgshift_load_transactions_total', { database: o.database }, o.transactions);
      this.registry.set('pgshift_load_errors_total', { database: o.database }, o.errors);
    }
  }
}
