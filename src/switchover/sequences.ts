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

interface SequenceChunk {
  /** One query reading every sequence of the chunk that exists on the receiving side. */
  readSql: string;
  names: string[];
}

/**
 * What a sequence sync does, worked out before the pause: the list of
 * sequences, which exist on the receiving side, and the statements that read
 * them, so inside the pause each chunk costs one read and one write.
 */
export interface SequencePlan {
  chunks: SequenceChunk[];
  /** Sequences that do not exist on the receiving side ("schema.name"). */
  missing: string[];
}

export async function planSequences(from: Db, to: Db): Promise<SequencePlan> {
  const list = await from.query<{ schema: string; name: string; kind: string }>(sqlFile('sequences-list'));
  const missing: string[] = [];
  const chunks: SequenceChunk[] = [];
  for (let i = 0; i < list.length; i += CHUNK) {
    const chunk = list.slice(i, i + CHUNK);
    const qualified = chunk.map((s) => qualify(s.schema, s.name));
    const present = new Set((await to.query<{ n: string }>(
      'SELECT n FROM unnest($1::text[]) AS n WHERE pg_catalog.to_regclass(n) IS NOT NULL', [qualified])).map((r) => r.n));
    const names: string[] = [];
    chunk.forEach((s, j) => {
      if (present.has(qualified[j]!)) names.push(qualified[j]!);
      else missing.push(`${s.schema}.${s.name}`);
    });
    if (names.length === 0) continue;
    // One round trip for the whole chunk; each branch names its sequence through qualify().
    const readSql = names
      .map((q, j) => `SELECT ${j} AS i, last_value::int8::text AS last_value, is_called FROM ${q}`) // sql-lint: safe (j is an index; q came from qualify())
      .join(' UNION ALL ');
    chunks.push({ readSql, names });
  }
  return { chunks, missing };
}

/** Set every planned sequence on the receiving side to the sending side's state (inside the pause). */
export async function applySequences(from: Db, to: Db, plan: SequencePlan): Promise<SequenceSync> {
  let set = 0;
  for (const chunk of plan.chunks) {
    const values = await from.query<{ i: number; last_value: string; is_called: boolean }>(chunk.readSql);
    const names = values.map((v) => chunk.names[v.i]!);
    const params = [names, values.map((v) => v.last_value), values.map((v) => v.is_called)];
    if (to.dryRun) {
      // The plan shows the values as they are now: the real run reads them inside the pause.
      await to.change(sqlFile('sequences-set'), params, { note: `${names.length} sequence(s); the values shown were read now, the real run reads them inside the pause, once writes stopped` });
      set += names.length;
      continue;
    }
    const r = await to.one<{ set: number }>(sqlFile('sequences-set'), params);
    set += r.set;
  }
  return { set, missing: plan.missing };
}

export async function syncSequences(from: Db, to: Db): Promise<SequenceSync> {
  return applySequences(from, to, await planSequences(from, to));
}
