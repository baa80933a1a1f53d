// A table's shape on both sides: which columns are compared (the source's,
// by name; extra target columns are allowed schema drift), which key cuts it
// into ranges, and the queries for each side.

import type { TableInfo } from '../pg/catalog.js';
import type { Db } from '../pg/connect.js';
import { sqlFor } from '../pg/sql.js';
import { TableQueries, type ColumnInfo, type RowHash } from './canonical.js';

export interface TableShape {
  info: TableInfo;
  columns: string[];
  keyColumns: string[];
  source: TableQueries;
  target: TableQueries;
}

export async function columnsOf(db: Db, schema: string, name: string): Promise<ColumnInfo[]> {
  const rows = await db.query<{ name: string; type: string; key_position: number | null }>(
    sqlFor('verify-columns', db.version), [schema, name]);
  return rows.map((r) => ({ name: r.name, type: r.type, keyPosition: r.key_position }));
}

/** 'r' ordinary, 'p' partitioned, undefined when there is no such table. */
async function relkindOf(db: Db, schema: string, name: string): Promise<'r' | 'p' | undefined> {
  const r = await db.maybeOne<{ relkind: 'r' | 'p' }>(
    "SELECT c.relkind::text AS relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
    [schema, name]);
  return r?.relkind;
}

/** The shape, or a problem that makes the table differ without looking at rows. */
export async function loadShape(source: Db, target: Db, info: TableInfo, hash: RowHash): Promise<TableShape | { problem: string }> {
  const [src, tgt] = await Promise.all([columnsOf(source, info.schema, info.name), columnsOf(target, info.schema, info.name)]);
  // A table without columns has no column rows; only the catalog says whether it exists.
  const [srcKind, tgtKind] = await Promise.all([relkindOf(source, info.schema, info.name), relkindOf(target, info.schema, info.name)]);
  if (!tgtKind) return { problem: 'table missing on the target' };
  const tgtByName = new Map(tgt.map((c) => [c.name, c]));
  const missing = src.filter((c) => !tgtByName.has(c.name)).map((c) => c.name);
  if (missing.length) return { problem: `column${missing.length > 1 ? 's' : ''} missing on the target: ${missing.join(', ')}` };
  const srcKey = src.filter((c) => c.keyPosition !== null).sort((a, b) => a.keyPosition! - b.keyPosition!);
  const columns = src.map((c) => c.name);
  const keyColumns = srcKey.map((c) => c.name);
  return {
    info,
    columns,
    keyColumns,
    // Each side by its own kind: the target may partition a table the source does not.
    source: new TableQueries(info.schema, info.name, columns, srcKey.map((c) => ({ name: c.name, type: c.type })), hash, (srcKind ?? info.relkind) === 'r'),
    target: new TableQueries(info.schema, info.name, columns, srcKey.map((c) => ({ name: c.name, type: tgtByName.get(c.name)!.type })), hash, tgtKind === 'r'),
  };
}
