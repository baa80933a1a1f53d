// Catalog reads shared by several steps.

import type { Db } from './connect.js';
import { sqlFile } from './sql.js';
import { qualify } from './quote.js';

export interface TableInfo {
  schema: string;
  name: string;
  oid: number;
  relkind: 'r' | 'p';
  persistence: 'p' | 'u';
  isPartition: boolean;
  replident: 'd' | 'n' | 'f' | 'i';
  hasPk: boolean;
  replidentIndex: string | null;
  extension: string | null;
  estRows: number;
  bytes: number;
}

/** "schema.name" as written in configs and reports (not quoted; for display and matching). */
export function tableKey(t: { schema: string; name: string }): string {
  return `${t.schema}.${t.name}`;
}

export async function listTables(db: Db): Promise<TableInfo[]> {
  const rows = await db.query<Record<string, unknown>>(sqlFile('tables'));
  return rows.map((r) => ({
    schema: r.schema as string,
    name: r.name as string,
    oid: Number(r.oid),
    relkind: r.relkind as 'r' | 'p',
    persistence: r.persistence as 'p' | 'u',
    isPartition: r.is_partition as boolean,
    replident: r.replident as TableInfo['replident'],
    hasPk: r.has_pk as boolean,
    replidentIndex: (r.replident_index as string | null) ?? null,
    extension: (r.extension as string | null) ?? null,
    estRows: Number(r.est_rows),
    bytes: Number(r.bytes),
  }));
}

/**
 * Which of these tables hold at least one row ("schema.table"), asked one at a
 * time with LIMIT 1 (no count), stopping after `limit` of them. `only`: the
 * table's own rows, not its partitions' or inheritance children's. A table
 * that cannot be read is listed as "schema.table (unreadable)" when
 * `unreadable` is 'report', else the error is thrown.
 */
export async function tablesWithRows(db: Db, tables: { schema: string; name: string }[], opts: { only: boolean; limit?: number; unreadable?: 'throw' | 'report' }): Promise<string[]> {
  const out: string[] = [];
  for (const t of tables) {
    if (opts.limit !== undefined && out.length >= opts.limit) break;
    try {
      const from = opts.only ? `ONLY ${qualify(t.schema, t.name)}` : qualify(t.schema, t.name);
      if (await db.maybeOne(`SELECT 1 AS x FROM ${from} LIMIT 1`)) out.push(tableKey(t)); // sql-lint: safe (from is qualify() output, behind a fixed ONLY)
    } catch (e) {
      if (opts.unreadable !== 'report') throw e;
      out.push(`${tableKey(t)} (unreadable)`);
    }
  }
  return out;
}

/** The tables listTables would list, as "schema.name" keys (tableKey) only: a much lighter query. */
export async function tableNames(db: Db): Promise<Set<string>> {
  return new Set((await db.query<{ schema: string; name: string }>(sqlFile('table-names'))).map(tableKey));
}

/**
 * Does `pattern` (from the config's exclude list) match this table?
 * "schema.table" matches exactly; "schema.*" a whole schema. A name holding a
 * dot can be written with double quotes: "my.schema"."my.table".
 */
export function matchesPattern(t: { schema: string; name: string }, pattern: string): boolean {
  const [schema, name] = splitPattern(pattern);
  return schema === t.schema && (name === '*' || name === t.name);
}

function splitPattern(p: string): [string, string] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '"') {
      if (quoted && p[i + 1] === '"') {
        cur += '"';
        i++;
      } else {
        quoted = !quoted;
      }
    } else if (c === '.' && !quoted) {
      parts.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  parts.push(cur);
  if (parts.length === 1) return ['public', parts[0]!];
  return [parts[0]!, parts.slice(1).join('.')];
}

/**
 * The tables pgshift replicates for a database: every user table that is not
 * excluded, not owned by an extension, not unlogged. Partitions are left out
 * when the root is published via the partition root (13+).
 */
export function replicatedTables(all: TableInfo[], exclude: string[], viaPartitionRoot: boolean): TableInfo[] {
  return all.filter((t) =>
    !t.extension &&
    t.persistence === 'p' &&
    !exclude.some((p) => matchesPattern(t, p)) &&
    (viaPartitionRoot ? !t.isPartition : t.relkind === 'r'),
  );
}
