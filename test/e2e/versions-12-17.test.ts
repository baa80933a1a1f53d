// The version matrix (README "Versions"): pgshift run, verify, switchover,
// cleanup for 12 -> 17 under write load (versions-scenario.ts); and the fast
// copy from the oldest source that has every catalog function it uses
// (no TID range scans: ranges by integer key; partitions published one by
// one), under write load, identical after catch-up. One pair of clusters.
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';
import { fastCopyUnderLoad } from './fast-copy-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(12, 17);
});
after(async () => {
  await pair?.stop();
});

test('12 -> 17 under write load: check, run, verify, switchover, reverse replication, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v12_17' });
});

test('fast copy under write load, 12 -> 17', async () => {
  await fastCopyUnderLoad(pair, 'fast12');
});
