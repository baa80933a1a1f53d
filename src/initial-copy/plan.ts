// What the fast copy moves and in which pieces: the leaf tables behind the
// published ones, their columns (generated columns are recomputed by the
// target, so they are left out), whether a table can travel in binary, and
// the ranges a large table is split into so that one big table does not
// serialise the copy.

import type { Db } from '../pg/connect.js';
import { qualify, quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFor } from '../pg/sql.js';
import { ProblemError } from '../errors.js';
import { featuresOf } from '../pg/version.js';

export interface CopyTable {
  schema: string;
  name: string;
  bytes: number;
  blocks: number;
  intKey: string | null;
  columns: string[];
  format: 'binary' | 'text';
}

/** One COPY: a whole table, or a slice of one. */
export interface CopyRange {
  table: CopyTable;
  /** 1-based, of `of`. */
  part: number;
  of: number;
  /** SQL condition on the source rows; undefined for the whole table. */
  whereSql?: string;
  /** Estimated share of the table's bytes, for ordering and ETA. */
  estBytes: number;
}

type ColumnRow = { schema: string; name: string; column: string; type: string; binary_ok: boolean };

async function columnsOf(db: Db, tables: { schema: string; name: string }[]): Promise<Map<string, ColumnRow[]>> {
  const rows = await db.query<ColumnRow>(sqlFor('fastcopy-columns', db.version), [tables.map((t) => t.schema), tables.map((t) => t.name)]);
  const out = new Map<string, ColumnRow[]>();
  for (const r of rows) {
    const k = JSON.stringify([r.schema, r.name]);
    const list = out.get(k) ?? [];
    list.push(r);
    out.set(k, list);
  }
  return out;
}

/**
 * The leaf tables to copy for the published tables, with their columns and
 * transfer format. Binary only when every column has the same type on both
 * sides and a binary form free of cluster-specific OIDs: binary input is
 * stricter than text input (a drifted int -> bigint column rejects it).
 */
export async function planCopyTables(source: Db, target: Db, publishedOids: number[]): Promise<CopyTable[]> {
  if (publishedOids.length === 0) return [];
  const leaves = await source.query<{ schema: string; name: string; bytes: string; blocks: string; int_key: string | null }>(
    sqlFor('fastcopy-leaves', source.version), [publishedOids]);
  const names = leaves.map((l) => ({ schema: l.schema, name: l.name }));
  const [srcCols, tgtCols] = await Promise.all([columnsOf(source, names), columnsOf(target, names)]);
  return leaves.map((l) => {
    const k = JSON.stringify([l.schema, l.name]);
    const cols = srcCols.get(k) ?? [];
    const tcols = new Map((tgtCols.get(k) ?? []).map((c) => [c.column, c]));
    if (!tgtCols.has(k)) {
      throw new ProblemError('target_table_missing', `table ${l.schema}.${l.name} does not exist on the target`, {
        hint: 'The target schema does not match the source. Let "pgshift start --copy fast" create it on an empty target database, or fix the target schema.',
      });
    }
    const missing = cols.filter((c) => !tcols.has(c.column)).map((c) => c.column);
    if (missing.length > 0) {
      throw new ProblemError('target_column_missing', `table ${l.schema}.${l.name} on the target lacks column(s) ${missing.join(', ')}`, {
        hint: 'Add the columns to the target table (or let fast copy create the schema on an empty target database).',
      });
    }
    const binary = cols.every((c) => c.binary_ok && tcols.get(c.column)!.binary_ok && tcols.get(c.column)!.type === c.type);
    return {
      schema: l.schema,
      name: l.name,
      bytes: Number(l.bytes),
      blocks: Number(l.blocks),
      intKey: l.int_key,
      columns: cols.map((c) => c.column),
      format: binary ? 'binary' : 'text',
    };
  });
}

/** How many pieces a table of this size is copied in. */
export function partsFor(bytes: number, splitBytes: number, maxParts: number): number {
  if (splitBytes <= 0 || bytes <= splitBytes) return 1;
  return Math.max(1, Math.min(maxParts, Math.ceil(bytes / splitBytes)));
}

/** Boundaries splitting [lo, hi] into `parts` ranges: parts-1 interior cut points, ascending and distinct. */
export function cutPoints(lo: bigint, hi: bigint, parts: number): bigint[] {
  const span = hi - lo + 1n;
  if (parts <= 1 || span <= 1n) return [];
  const n = BigInt(parts);
  const cuts: bigint[] = [];
  for (let i = 1n; i < n; i++) {
    const c = lo + (span * i) / n;
    if (c > lo && (cuts.length === 0 || c > cuts[cuts.length - 1]!)) cuts.push(c);
  }
  return cuts;
}

function rangesFromCuts(table: CopyTable, cuts: string[], condSql: (lo: string | undefined, hi: string | undefined) => string): CopyRange[] {
  const of = cuts.length + 1;
  const out: CopyRange[] = [];
  for (let i = 0; i < of; i++) {
    // First and last ranges are open-ended: rows (or pages) beyond what was
    // measured are still inside some range.
    out.push({ table, part: i + 1, of, whereSql: condSql(cuts[i - 1], cuts[i]), estBytes: table.bytes / of });
  }
  return out;
}

/**
 * Split a table into ranges: by its integer primary key on sources before
 * 14 (where a ctid condition is a filtered sequential scan of the whole
 * table for every range), by page ranges of ctid from 14 on (TID range
 * scans read only their pages). Needs a connection inside the exported
 * snapshot for the key bounds, so ranges match the rows being copied.
 */
export async function splitTable(snapshotDb: Db, table: CopyTable, parts: number): Promise<CopyRange[]> {
  if (parts <= 1) return [{ table, part: 1, of: 1, estBytes: table.bytes }];
  const relSql = qualify(table.schema, table.name);
  const tidRange = featuresOf(snapshotDb.version).tidRangeScan;
  if (!tidRange && table.intKey) {
    const keySql = quoteIdent(table.intKey);
    const b = await snapshotDb.one<{ lo: string | null; hi: string | null }>(`SELECT min(${keySql})::text AS lo, max(${keySql})::text AS hi FROM ONLY ${relSql}`);
    if (b.lo === null || b.hi === null) return [{ table, part: 1, of: 1, estBytes: table.bytes }];
    const cuts = cutPoints(BigInt(b.lo), BigInt(b.hi), parts).map(String);
    return rangesFromCuts(table, cuts, (lo, hi) => {
      const conds: string[] = [];
      if (lo !== undefined) conds.push(`${keySql} >= ${quoteLiteral(lo)}`);
      if (hi !== undefined) conds.push(`${keySql} < ${quoteLiteral(hi)}`);
      return conds.join(' AND ');
    });
  }
  if (table.blocks <= 1) return [{ table, part: 1, of: 1, estBytes: table.bytes }];
  const cuts = cutPoints(0n, BigInt(table.blocks - 1), parts).map(String);
  return rangesFromCuts(table, cuts, (lo, hi) => {
    const conds: string[] = [];
    if (lo !== undefined) conds.push(`ctid >= ${quoteLiteral(`(${lo},0)`)}::tid`);
    if (hi !== undefined) conds.push(`ctid < ${quoteLiteral(`(${hi},0)`)}::tid`);
    return conds.join(' AND ');
  });
}
