// A table's shape on both sides: which columns are compared (the source's,
// by name; extra target columns are allowed schema drift), which key cuts it
// into ranges, and the queries for each side.

import type { TableInfo } from '../pg/catalog.js';
import type { Db } from '../pg/connect.js';
import { sqlFile } from '../pg/sql.js';
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
    sqlFile('verify-columns'), [schema, name]);
  return rows.map((r) => ({ name: r.name, type: r.type, keyPosition: r.key_position }));
}

/** The shape, or a problem that makes the table differ without looking at rows. */
export async function loadShape(source: Db, target: Db, info: TableInfo, hash: RowHash): Promise<TableShape | { problem: string }> {
  const [src, tgt] = await Promise.all([columnsOf(source, info.schema, info.name), columnsOf(target, info.schema, info.name)]);
  if (tgt.length === 0) return { problem: 'table missing on the target' };
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
    source: new TableQueries(info.schema, info.name, columns, srcKey.map((c) => ({ name: c.name, type: c.type })), hash),
    target: new TableQueries(info.schema, info.name, columns, srcKey.map((c) => ({ name: c.name, type: tgtByName.get(c.name)!.type })), hash),
  };
}
