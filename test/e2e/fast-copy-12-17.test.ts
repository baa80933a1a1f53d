// pgshift start --copy fast (library entry startFastCopy), 12 -> 17: the
// oldest source (no TID range scans: ranges by integer key; partitions
// published one by one) copied under continuous write load, identical after
// catch-up.
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { fastCopyUnderLoad } from './fast-copy-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(12, 17);
});
after(async () => {
  await pair?.stop();
});

test('fast copy under write load, 12 -> 17', async () => {
  await fastCopyUnderLoad(pair, 'fast12');
});
