// What verify finds, as plain data: the CLI renders it, tests and the demo read it.

export type VerifyMode = 'count' | 'sample' | 'full';

export type DifferenceKind = 'missing' | 'extra' | 'different';

export interface RowDifference {
  /** missing: on the source, not on the target; extra: on the target only; different: some columns differ. */
  kind: DifferenceKind;
  /** Key column -> key value as text. */
  key: Record<string, string>;
  /** For "different": the columns whose values differ. */
  columns?: string[];
}

export type TableMethod = 'count' | 'sample' | 'ranges' | 'whole';

export interface TableResult {
  /** "schema.name", unquoted. */
  table: string;
  schema: string;
  name: string;
  /**
   * unsettled: no difference found, but some rows (or a key-less table) kept
   * changing on the source through every re-check, so they could not be compared.
   * deferred: a table replication does not carry (unlogged, or no usable
   * replica identity) while forward replication runs: the switchover copies
   * it while writes are paused, so it is compared after the switchover
   * (`note` says why). Not a difference.
   */
  status: 'same' | 'differs' | 'unsettled' | 'deferred';
  /** For a deferred table: why replication does not carry it and when it is compared. */
  note?: string;
  /** How it was compared: exact counts, sampled keys, key ranges, or the whole (key-less) table. */
  method: TableMethod;
  keyColumns: string[];
  sourceRows?: number;
  targetRows?: number;
  /** Rows compared (sampled rows for sample mode). */
  checkedRows: number;
  ranges?: number;
  /** Top-level ranges that still differed after the re-check. */
  differingRanges: number;
  /** Rows found different; at least differences.length. */
  differenceCount: number;
  /** The first differences, up to the report's limit. */
  differences: RowDifference[];
  /** Rows (or 1 for a key-less table) that kept changing on the source through every re-check. */
  unsettledRows: number;
  /** Why the table differs when no row can be named (missing table or column, key-less table). */
  problem?: string;
  /** Some differences could not be confirmed: the target did not reach the source position in time. */
  unconfirmed?: boolean;
  ms: number;
}

export interface VerifyReport {
  database: string;
  mode: VerifyMode;
  identical: boolean;
  tables: TableResult[];
  /** Rows compared over all tables. */
  rows: number;
  ms: number;
  /** A live subscription was found: differences were re-checked once the target caught up. */
  live: boolean;
  /** More differences exist than were listed. */
  truncated: boolean;
  warnings: string[];
  /** How rows were hashed (see canonical.ts). */
  rowHash: 'hashtextextended' | 'md5' | 'md5-utf8';
}
