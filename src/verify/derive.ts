// The decisions verify makes around its reads, over plain data: which tables
// it compares, whether a live replication makes it wait before calling a
// difference real, which tables it leaves to the switchover or a rollback,
// and what the finished comparison says. Pure: no I/O, so each rule is
// unit-tested with tables and results made up in the test
// (test/unit/verify-derive.test.ts); index.ts does the reads.

import { matchesPattern, replicatedTables, tableKey, type TableInfo } from '../pg/catalog.js';
import type { MigrationNames } from '../replication/names.js';
import { UsageError } from '../errors.js';
import type { Outcome } from '../events.js';
import { VERIFY_ROUNDS, type LiveSlot } from './session.js';
import type { TableResult, VerifyMode, VerifyReport } from './report.js';

/**
 * What pgshift replicates for this database (partitioned tables through their
 * root) plus the unlogged tables the switchover copies, narrowed to `patterns`
 * (--tables) when given. A pattern that matches none of them is a usage error.
 */
export function tablesToCompare(all: TableInfo[], exclude: string[], patterns: string[] | undefined, database: string): TableInfo[] {
  const unlogged = all.filter((t) => t.persistence === 'u' && !t.extension && !t.isPartition && !exclude.some((p) => matchesPattern(t, p)));
  const compared = new Set([...replicatedTables(all, exclude, true), ...unlogged]);
  const tables = all.filter((t) => compared.has(t));
  if (!patterns?.length) return tables;
  for (const p of patterns) {
    if (!tables.some((t) => matchesPattern(t, p))) {
      throw new UsageError(`--tables: "${p}" matches no replicated table in database ${database}`, {
        hint: 'Write tables as schema.table (or schema.* for a schema); quote a name holding a dot or comma: "my.schema".t',
      });
    }
  }
  return tables.filter((t) => patterns.some((p) => matchesPattern(t, p)));
}

/** A replication slot as findLiveSlot reads it. */
export type SlotState = { exists: boolean; active: boolean };

/** The forward slot on the source, and the reverse slot on the target (read only when the forward one is gone). */
export interface SlotStates {
  forward: SlotState;
  reverse?: SlotState;
}

/**
 * Which replication carries writes between the sides right now, so that a
 * difference is re-checked once the receiving side has caught up; a slot that
 * exists with nothing streaming from it is a warning, not a wait.
 */
export function liveReplication(names: MigrationNames, slots: SlotStates, timeoutMs: number): { live?: LiveSlot; warnings: string[] } {
  if (slots.forward.active) return { live: { direction: 'forward', slot: names.slot, subscription: names.subscription, timeoutMs }, warnings: [] };
  if (slots.forward.exists) {
    return { warnings: [`replication slot ${names.slot} exists but nothing streams from it: differences are reported without waiting for the target to catch up`] };
  }
  // After a switchover the target takes the writes and its reverse slot carries them back.
  if (slots.reverse?.active) return { live: { direction: 'reverse', slot: names.reverseSlot, subscription: names.reverseSubscription, timeoutMs }, warnings: [] };
  if (slots.reverse?.exists) {
    return { warnings: [`reverse replication slot ${names.reverseSlot} exists on the target but nothing streams from it: differences are reported without waiting for the source to catch up`] };
  }
  return { warnings: [] };
}

/**
 * Why a table is not compared now but after the switchover, or undefined.
 * While forward replication runs (its slot exists), a table it does not carry
 * is filled by the switchover, not before: comparing it now would report its
 * rows as missing.
 */
export function deferredBecause(t: TableInfo, forwardSlotExists: boolean, copiedAtSwitchover: Set<string>): string | undefined {
  if (!forwardSlotExists) return undefined;
  if (t.persistence === 'u') return 'unlogged table';
  return copiedAtSwitchover.has(tableKey(t)) ? `no usable replica identity${t.relkind === 'p' ? ' on a partition' : ''}, see pgshift check` : undefined;
}

export function methodFor(mode: VerifyMode): TableResult['method'] {
  return mode === 'count' ? 'count' : mode === 'sample' ? 'sample' : 'ranges';
}

/** A table's result before anything is read: the same, until a read says otherwise. */
export function emptyResult(t: TableInfo, method: TableResult['method']): TableResult {
  return {
    table: tableKey(t), schema: t.schema, name: t.name, status: 'same', method, keyColumns: [],
    checkedRows: 0, differingRanges: 0, differenceCount: 0, unsettledRows: 0, differences: [], ms: 0,
  };
}

export function deferredResult(t: TableInfo, method: TableResult['method'], why: string): TableResult {
  return { ...emptyResult(t, method), status: 'deferred', note: `copied at switchover (replication does not carry it: ${why}), compared after it` };
}

/** A table whose shape already differs (missing, other columns): it differs without reading a row. */
export function incomparableResult(t: TableInfo, method: TableResult['method'], problem: string): TableResult {
  return { ...emptyResult(t, method), status: 'differs', problem, differenceCount: 1 };
}

const ROLLBACK_NOTE = 'changed on the target since the switchover; reverse replication does not carry it (no usable replica identity on the target, unlogged, or columns the source lacks): a rollback copies it to the source while writes are paused';

/**
 * Each table's final status once every read is done, and the warnings about
 * rows that could not be settled or confirmed. `incomparable` (table keys)
 * are tables whose shapes differ: never excused. `copiedAtRollback` (table
 * keys, after a switchover) are tables reverse replication does not carry: a
 * difference there is expected once the new primary writes to them, and is
 * what a rollback copies.
 */
export function settleResults(results: TableResult[], incomparable: Set<string>, copiedAtRollback: Set<string>): { tables: TableResult[]; warnings: string[] } {
  const warnings: string[] = [];
  const tables = results.map((read) => {
    const r = { ...read };
    if (r.status === 'differs' && r.differenceCount === 0 && !r.problem) r.status = 'same';
    if (r.status === 'same' && r.unsettledRows > 0) r.status = 'unsettled';
    if ((r.status === 'differs' || r.status === 'unsettled') && !incomparable.has(r.table) && copiedAtRollback.has(r.table)) {
      r.status = 'deferred';
      r.note = ROLLBACK_NOTE;
      delete r.problem;
      return r;
    }
    if (r.status === 'unsettled') {
      warnings.push(`${r.table}: ${r.method === 'whole' ? 'the table' : `${r.unsettledRows} row${r.unsettledRows === 1 ? '' : 's'}`} kept changing on the source through ${VERIFY_ROUNDS} re-checks and could not be compared; verify again when writes pause (e.g. after switchover)`);
    }
    if (r.unconfirmed) warnings.push(`${r.table}: the target did not reach the source position within the wait; its differences may be replication lag`);
    return r;
  });
  return { tables, warnings };
}

/** The `result` event of a verify: what the journal and metrics keep of the report. */
export function verifyOutcome(report: VerifyReport): Outcome {
  const list = report.tables;
  return {
    kind: 'verify', database: report.database, mode: report.mode, identical: report.identical, tables: list.length, rows: report.rows, ms: report.ms, live: report.live,
    differing: list.filter((r) => r.status === 'differs').map((r) => ({ table: r.table, differences: r.differenceCount, ...(r.problem ? { problem: r.problem } : {}) })),
    unsettled: list.filter((r) => r.status === 'unsettled').map((r) => r.table),
    deferred: list.filter((r) => r.status === 'deferred').map((r) => r.table),
    warnings: report.warnings,
  };
}
