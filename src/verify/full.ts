// verify --mode full: every row, every column, without pulling rows out of
// the database. A keyed table is cut into key ranges (boundaries from a block
// sample of the source's keys); each range is reduced on both sides to
// (row count, sum of 64-bit row hashes). A range that differs is re-checked
// once the target has caught up, then split until the pieces are small, and
// only those small pieces are fetched as (key, row hash) to name the rows.
// A key-less table is reduced as a whole: the sum of hashes is a multiset
// hash, so row order and duplicates are handled.

import { WHOLE, type KeyRange } from './canonical.js';
import { classifyKeys, type DifferenceLog } from './rows.js';
import type { TableResult } from './report.js';
import { settle, type Verdict, type VerifyPair } from './session.js';
import type { TableShape } from './shape.js';

export interface FullOptions {
  /** Rows per top-level range. */
  chunkRows: number;
  /** A range this small is fetched as (key, hash) pairs instead of split further. */
  leafRows: number;
  /** Pieces a differing range is split into. */
  fanout: number;
}

export const FULL_DEFAULTS: FullOptions = { chunkRows: 100_000, leafRows: 2_000, fanout: 16 };

/** Top-level ranges for a table, from a block sample of the source's keys. */
export async function planRanges(pair: VerifyPair, shape: TableShape, opts: FullOptions): Promise<KeyRange[]> {
  const est = shape.info.estRows > 0 ? shape.info.estRows : Math.floor(shape.info.bytes / 100);
  if (shape.keyColumns.length === 0 || est < opts.chunkRows * 1.5) return [WHOLE];
  const ranges = Math.ceil(est / opts.chunkRows);
  const step = 20;
  const percent = Math.min(100, (ranges * step * 150) / est);
  const q = shape.source.sampledBoundaries(percent, step);
  const rows = await pair.source.query<{ k: string[] }>(q.text, q.params);
  const bounds: string[][] = [];
  for (const r of rows) {
    const last = bounds[bounds.length - 1];
    if (!last || JSON.stringify(last) !== JSON.stringify(r.k)) bounds.push(r.k);
  }
  return cut(WHOLE, bounds);
}

function cut(range: KeyRange, points: string[][]): KeyRange[] {
  const out: KeyRange[] = [];
  let lo = range.lo;
  for (const p of points) {
    out.push({ lo, hi: p });
    lo = p;
  }
  out.push({ lo, hi: range.hi });
  return out;
}

type Hash = {
  n: string;
  h: string;
};

const same = (a: Hash, b: Hash): boolean => a.n === b.n && a.h === b.h;

const eqHash = (a: Hash[], b: Hash[]): boolean => same(a[0]!, b[0]!);

/**
 * Compare one top-level range; returns the rows it covered on the source.
 * Differences go to `result` through `log`.
 */
export async function compareRange(pair: VerifyPair, shape: TableShape, range: KeyRange, result: TableResult, log: DifferenceLog, opts: FullOptions): Promise<number> {
  let [[s], [t]] = await pair.both<Hash>(shape.source.rangeHash(range), shape.target.rangeHash(range));
  let verdict: Verdict = same(s!, t!) ? 'same' : 'different';
  if (verdict !== 'same' && pair.live) {
    const again = await settle(pair, shape.source.rangeHash(range), shape.target.rangeHash(range), eqHash);
    [s, t, verdict] = [again.s[0], again.t[0], again.verdict];
    if (!again.confirmed) result.unconfirmed = true;
  }
  const ns = Number(s!.n);
  const nt = Number(t!.n);
  result.sourceRows = (result.sourceRows ?? 0) + ns;
  result.targetRows = (result.targetRows ?? 0) + nt;
  if (verdict === 'same') return ns;
  if (shape.keyColumns.length === 0) {
    if (verdict === 'unsettled') {
      result.unsettledRows = Math.max(1, Math.abs(ns - nt));
    } else {
      result.differingRanges++;
      result.status = 'differs';
      result.differenceCount += Math.max(1, Math.abs(ns - nt));
      result.problem = `key-less table differs as a whole (${ns} rows on the source, ${nt} on the target)`;
    }
    return ns;
  }
  result.differingRanges++;
  if (log.full) {
    // Listing is over: count the range's net row difference without drilling down.
    result.status = 'differs';
    result.differenceCount += Math.max(1, Math.abs(ns - nt));
    log.truncated = true;
    return ns;
  }
  await drill(pair, shape, range, ns, nt, verdict === 'unsettled', result, log, opts, { left: LIVE_DRILL_BUDGET });
  return ns;
}

/** Most (key, hash) pairs fetched from each side at once for a range still being written. */
const MAX_LIVE_LEAF = 50_000;

/**
 * Re-checked pieces per top-level range while the source keeps writing into
 * it. Under a heavy load a hot range can grow faster than it is bisected;
 * past this, what is left is reported as unsettled instead of chased forever.
 */
const LIVE_DRILL_BUDGET = 64;

async function drill(pair: VerifyPair, shape: TableShape, range: KeyRange, ns: number, nt: number, unsettled: boolean, result: TableResult, log: DifferenceLog, opts: FullOptions, budget: { left: number }): Promise<void> {
  const n = Math.max(ns, nt);
  if (unsettled && budget.left <= 0) {
    result.unsettledRows += n;
    return;
  }
  // A range the source keeps writing to differs at every level of a bisection, so
  // bisecting it would hash it again and again; fetch its (key, hash) pairs as soon
  // as that is bounded, and settle the few rows in flux one by one.
  const leafLimit = unsettled ? Math.max(opts.leafRows, Math.min(opts.chunkRows, MAX_LIVE_LEAF)) : opts.leafRows;
  if (n <= leafLimit) {
    await leaf(pair, shape, range, result, log);
    return;
  }
  // Split points from whichever side has more rows in the range, so extra rows on the target split too.
  const side = ns >= nt ? pair.source : pair.target;
  const queries = ns >= nt ? shape.source : shape.target;
  const q = queries.splitPoints(range, Math.ceil(n / opts.fanout));
  const points = (await side.query<{ k: string[] }>(q.text, q.params)).map((r) => r.k);
  if (points.length === 0) {
    await leaf(pair, shape, range, result, log);
    return;
  }
  for (const piece of cut(range, points)) {
    if (log.full) {
      log.truncated = true;
      return;
    }
    // A piece that keeps changing is drilled into too: its rows are settled one by one.
    budget.left--;
    const r = await settle(pair, shape.source.rangeHash(piece), shape.target.rangeHash(piece), eqHash);
    if (r.verdict !== 'same') await drill(pair, shape, piece, Number(r.s[0]!.n), Number(r.t[0]!.n), r.verdict === 'unsettled', result, log, opts, budget);
  }
}

async function leaf(pair: VerifyPair, shape: TableShape, range: KeyRange, result: TableResult, log: DifferenceLog): Promise<void> {
  // Candidates only: any key whose row hash differs in one read. classifyKeys settles each.
  const [src, tgt] = await pair.both<{ k: string[]; h: string }>(shape.source.leafRows(range), shape.target.leafRows(range));
  const tgtByKey = new Map(tgt.map((r) => [JSON.stringify(r.k), r]));
  const candidates: string[][] = [];
  const srcKeys = new Set<string>();
  for (const r of src) {
    const id = JSON.stringify(r.k);
    srcKeys.add(id);
    if (tgtByKey.get(id)?.h !== r.h) candidates.push(r.k);
  }
  for (const r of tgt) if (!srcKeys.has(JSON.stringify(r.k))) candidates.push(r.k);
  // Looked up again by key (equality), which also settles rows that only seemed
  // missing because the two servers' collations order a text key differently.
  await classifyKeys(pair, shape, candidates, result, log);
}
