// The version matrix (README "Versions"): pgshift run, verify, switchover, cleanup
// for 13 -> 16 under write load (versions-scenario.ts).
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(13, 16);
});
after(async () => {
  await pair?.stop();
});

test('13 -> 16 under write load: check, run, verify, switchover, reverse replication, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v13_16' });
});
