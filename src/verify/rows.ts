// Row-level comparison shared by sample and full: fetch the given keys on
// both sides by equality and classify each one as missing on the target,
// extra on the target, or different (naming the columns).

import { keyRecord } from './canonical.js';
import type { RowDifference, TableResult } from './report.js';
import type { VerifyPair } from './session.js';
import type { TableShape } from './shape.js';

/** Counts every difference; lists them up to a limit shared by all tables. */
export class DifferenceLog {
  listed = 0;
  truncated = false;
  constructor(readonly limit: number) {}

  get full(): boolean {
    return this.listed >= this.limit;
  }

  add(result: TableResult, d: RowDifference): void {
    result.differenceCount++;
    result.status = 'differs';
    if (this.listed < this.limit) {
      result.differences.push(d);
      this.listed++;
    } else {
      this.truncated = true;
    }
  }
}

const BATCH = 500;

type KeyedValues = {
  k: string[];
  v: (string | null)[];
};

type Values = (string | null)[] | undefined;

const sameValues = (a: Values, b: Values): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]));

/**
 * Fetch keys (each a list of key texts) on both sides by equality and
 * classify each; a row that keeps changing on a live source is re-asked, and
 * counted as unsettled after the last round. Returns the rows looked at.
 */
export async function classifyKeys(pair: VerifyPair, shape: TableShape, keys: string[][], result: TableResult, log: DifferenceLog): Promise<number> {
  let seen = 0;
  let pending = keys;
  // On a live source a row must differ in two sandwiches in a row, as in
  // settle(): the target's replication origin moves inside the applying
  // commit, a moment before that commit's rows are visible.
  let suspects = new Set<string>();
  for (let round = 0; round < pair.rounds && pending.length; round++) {
    const next: string[][] = [];
    const nextSuspects = new Set<string>();
    for (let i = 0; i < pending.length; i += BATCH) {
      const batch = pending.slice(i, i + BATCH);
      const { s1, t, s2, confirmed } = await pair.sandwich<KeyedValues>(shape.source.rowsByKeys(batch), shape.target.rowsByKeys(batch));
      const index = (rows: KeyedValues[]): Map<string, KeyedValues> => new Map(rows.map((r) => [JSON.stringify(r.k), r]));
      const [a, b, c] = [index(s1), index(t), index(s2)];
      const ids = new Set([...a.keys(), ...b.keys(), ...c.keys()]);
      if (round === 0) seen += ids.size;
      for (const id of ids) {
        const before = a.get(id)?.v;
        const target = b.get(id)?.v;
        const after = c.get(id)?.v;
        if (sameValues(target, before) || sameValues(target, after)) continue;
        if (!sameValues(before, after)) {
          next.push((a.get(id) ?? b.get(id) ?? c.get(id))!.k);
          continue;
        }
        if (pair.live && !suspects.has(id)) {
          next.push((a.get(id) ?? b.get(id))!.k);
          nextSuspects.add(id);
          continue;
        }
        if (!confirmed) result.unconfirmed = true;
        const k = keyRecord(shape.keyColumns, (a.get(id) ?? b.get(id))!.k);
        if (after === undefined) log.add(result, { kind: 'extra', key: k });
        else if (target === undefined) log.add(result, { kind: 'missing', key: k });
        else log.add(result, { kind: 'different', key: k, columns: shape.columns.filter((_, col) => after[col] !== target[col]) });
      }
    }
    pending = next;
    suspects = nextSuspects;
  }
  result.unsettledRows += pending.length;
  return seen;
}
