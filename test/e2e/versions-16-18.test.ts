// The version matrix (README "Versions"): pgshift run, verify, switchover, rollback
// and cleanup for 16 -> 18 under write load (versions-scenario.ts).
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(16, 18);
});
after(async () => {
  await pair?.stop();
});

test('16 -> 18 under write load: check, run, verify, switchover, rollback, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v16_18', rollback: true });
});
