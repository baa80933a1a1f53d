// verify --mode sample: some random rows of the source and the last rows by
// key on each side (where new rows land, and where an extra row on the
// target shows), compared column by column. A key-less table is compared by
// its row count: without a key there is no row to look up.

import { classifyKeys, type DifferenceLog } from './rows.js';
import type { TableResult } from './report.js';
import type { VerifyPair } from './session.js';
import type { TableShape } from './shape.js';
import { countTable } from './count.js';

export async function sampleTable(pair: VerifyPair, shape: TableShape, result: TableResult, log: DifferenceLog, sampleSize: number): Promise<void> {
  if (shape.keyColumns.length === 0) {
    await countTable(pair, shape, result);
    return;
  }
  result.method = 'sample';
  const est = shape.info.estRows;
  // A block sample big enough to hold the wanted rows several times over (all of a small table).
  const percent = est > 0 ? Math.min(100, (sampleSize * 4 * 100) / est) : 100;
  const randomSql = shape.source.randomKeys(percent, sampleSize);
  const random = await pair.source.query<{ k: string[] }>(randomSql.text, randomSql.params);
  const [lastSrc, lastTgt] = await pair.both<{ k: string[] }>(shape.source.lastKeys(sampleSize), shape.target.lastKeys(sampleSize));
  const keys = new Map<string, string[]>();
  for (const r of [...random, ...lastSrc, ...lastTgt]) keys.set(JSON.stringify(r.k), r.k);
  result.checkedRows = await classifyKeys(pair, shape, [...keys.values()], result, log);
}
