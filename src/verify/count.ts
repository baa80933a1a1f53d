// verify --mode count: exact row counts on both sides.

import type { TableResult } from './report.js';
import { settle, type VerifyPair } from './session.js';
import type { TableShape } from './shape.js';

export async function countTable(pair: VerifyPair, shape: TableShape, result: TableResult): Promise<void> {
  result.method = 'count';
  const eq = (a: { n: string }[], b: { n: string }[]): boolean => a[0]!.n === b[0]!.n;
  let [[s], [t]] = await pair.both<{ n: string }>(shape.source.count(), shape.target.count());
  let verdict = s!.n === t!.n ? 'same' : 'different';
  if (verdict !== 'same' && pair.live) {
    const again = await settle(pair, shape.source.count(), shape.target.count(), eq);
    [s, t, verdict] = [again.s[0], again.t[0], again.verdict];
    if (!again.confirmed) result.unconfirmed = true;
  }
  result.sourceRows = Number(s!.n);
  result.targetRows = Number(t!.n);
  result.checkedRows = result.sourceRows;
  if (verdict === 'different') {
    result.status = 'differs';
    result.differenceCount = Math.abs(result.sourceRows - result.targetRows);
    result.problem = `${result.sourceRows} rows on the source, ${result.targetRows} on the target`;
  } else if (verdict === 'unsettled') {
    result.status = 'unsettled';
    result.unsettledRows = Math.abs(result.sourceRows - result.targetRows);
  }
}
