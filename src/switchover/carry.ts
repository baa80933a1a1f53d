// What logical replication cannot carry, copied while writes are paused:
// tables left out of the publication (no usable replica identity, unlogged)
// and large objects. Each table is replaced in one transaction on the
// receiving side (TRUNCATE + COPY), streamed without buffering.

import { pipeline } from 'node:stream/promises';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { withTransaction, type Db } from '../pg/connect.js';
import { qualify, quoteIdentList } from '../pg/quote.js';
import { sqlFor } from '../pg/sql.js';

export interface CarriedTable {
  table: string;
  rows: number;
}

export interface CarryResult {
  tables: CarriedTable[];
  /** Tables that do not exist on the receiving side. */
  missing: string[];
  largeObjects: number;
}

async function columns(db: Db, schema: string, name: string): Promise<string[]> {
  const rows = await db.query<{ attname: string }>(sqlFor('carry-columns', db.version), [qualify(schema, name)]);
  return rows.map((r) => r.attname);
}

export async function copyTables(from: Db, to: Db, tables: { schema: string; name: string }[]): Promise<Omit<CarryResult, 'largeObjects'>> {
  const out: CarriedTable[] = [];
  const missing: string[] = [];
  for (const t of tables) {
    const key = `${t.schema}.${t.name}`;
    const exists = await to.one<{ r: string | null }>('SELECT pg_catalog.to_regclass($1)::text AS r', [qualify(t.schema, t.name)]);
    if (!exists.r) {
      missing.push(key);
      continue;
    }
    const cols = await columns(from, t.schema, t.name);
    const target = await columns(to, t.schema, t.name);
    const shared = cols.filter((c) => target.includes(c));
    const list = quoteIdentList(shared);
    const rows = await withTransaction(to, async () => {
      await to.query(`TRUNCATE ONLY ${qualify(t.schema, t.name)}`);
      const reader = from.client.query(copyTo(`COPY (SELECT ${list} FROM ONLY ${qualify(t.schema, t.name)}) TO STDOUT`)); // sql-lint: safe (list is quoteIdentList output)
      const writer = to.client.query(copyFrom(`COPY ${qualify(t.schema, t.name)} (${list}) FROM STDIN`)); // sql-lint: safe (list is quoteIdentList output)
      await pipeline(reader, writer);
      return Number(writer.rowCount ?? 0);
    });
    out.push({ table: key, rows });
  }
  return { tables: out, missing };
}

/** Make the receiving side's large objects exactly the sending side's. */
export async function copyLargeObjects(from: Db, to: Db): Promise<number> {
  const q = 'SELECT oid::text AS oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid';
  const [src, dst] = await Promise.all([from.query<{ oid: string }>(q), to.query<{ oid: string }>(q)]);
  if (src.length === 0 && dst.length === 0) return 0;
  await withTransaction(to, async () => {
    await to.query('SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata');
    for (const { oid } of src) {
      const data = await from.one<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid) AS data', [oid]);
      await to.query('SELECT pg_catalog.lo_from_bytea($1::oid, $2::bytea)', [oid, data.data]);
    }
  });
  return src.length;
}
