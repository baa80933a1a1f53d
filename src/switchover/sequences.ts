// Sequences are not replicated: while writes are paused, set every sequence
// on the receiving side to the sending side's state. last_value and
// is_called are read from the sequence itself (pg_sequences hides
// last_value when is_called is false), so a never-called sequence stays
// never-called and its first nextval returns its start value.

import type { Db } from '../pg/connect.js';
import { qualify } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';

export interface SequenceSync {
  set: number;
  /** Sequences that do not exist on the receiving side ("schema.name"). */
  missing: string[];
}

const CHUNK = 500;

export async function syncSequences(from: Db, to: Db): Promise<SequenceSync> {
  const list = await from.query<{ schema: string; name: string; kind: string }>(sqlFile('sequences-list'));
  const missing: string[] = [];
  let set = 0;
  for (let i = 0; i < list.length; i += CHUNK) {
    const chunk = list.slice(i, i + CHUNK);
    const qualified = chunk.map((s) => qualify(s.schema, s.name));
    const present = new Set((await to.query<{ n: string }>(
      'SELECT n FROM unnest($1::text[]) AS n WHERE pg_catalog.to_regclass(n) IS NOT NULL', [qualified])).map((r) => r.n));
    // One round trip for the whole chunk; each branch names its sequence through qualify().
    const readSql = qualified
      .map((q, j) => `SELECT ${j} AS i, last_value::int8::text AS last_value, is_called FROM ${q}`) // sql-lint: safe (j is an index; q came from qualify())
      .join(' UNION ALL ');
    const values = await from.query<{ i: number; last_value: string; is_called: boolean }>(readSql);
    const names: string[] = [];
    const lasts: string[] = [];
    const called: boolean[] = [];
    for (const v of values) {
      const q = qualified[v.i]!;
      if (!present.has(q)) {
        missing.push(`${chunk[v.i]!.schema}.${chunk[v.i]!.name}`);
        continue;
      }
      names.push(q);
      lasts.push(v.last_value);
      called.push(v.is_called);
    }
    if (names.length) {
      const r = await to.one<{ set: number }>(sqlFile('sequences-set'), [names, lasts, called]);
      set += r.set;
    }
  }
  return { set, missing };
}
