// The version matrix (README "Versions"): pgshift run, verify, switchover, cleanup
// for 14 -> 18 under write load (versions-scenario.ts).
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(14, 18);
});
after(async () => {
  await pair?.stop();
});

test('14 -> 18 under write load: check, run, verify, switchover, reverse replication, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v14_18' });
});
