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
    if (to.dryRun) {
      // The same statements as below; COPY streams rows from one session to the other, so the plan names both.
      await to.change(`TRUNCATE ONLY ${qualify(t.schema, t.name)}`, [], { note: 'in one transaction with the COPY into it below' });
      to.dryRun.record(from.side, from.database, `COPY (SELECT ${list} FROM ONLY ${qualify(t.schema, t.name)}) TO STDOUT;`, `read while writes are paused, streamed into the ${to.side}`); // sql-lint: safe (list is quoteIdentList output)
      await to.change(`COPY ${qualify(t.schema, t.name)} (${list}) FROM STDIN`); // sql-lint: safe (list is quoteIdentList output)
      out.push({ table: key, rows: 0 });
      continue;
    }
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
  if (to.dryRun) {
    await to.change('SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata', [], { note: `then each of the ${from.side}'s ${src.length} large object(s) written with lo_from_bytea, in one transaction` });
    return src.length;
  }
  await withTransaction(to, async () => {
    await to.query('SELECT pg_catalog.lo_unlink(oid) FROM pg_catalog.pg_largeobject_metadata');
    for (const { oid } of src) {
      const data = await from.one<{ data: Buffer }>('SELECT pg_catalog.lo_get($1::oid) AS data', [oid]);
      await to.query('SELECT pg_catalog.lo_from_bytea($1::oid, $2::bytea)', [oid, data.data]);
    }
  });
  return src.length;
}
