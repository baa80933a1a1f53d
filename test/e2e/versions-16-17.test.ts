// The version matrix (README "Versions"): pgshift run, verify, switchover, cleanup
// for 16 -> 17 under write load (versions-scenario.ts): the dump tools are
// newer than the target (no pg_dump 17 in CI), so the schema script is
// adapted to it.
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(16, 17);
});
after(async () => {
  await pair?.stop();
});

test('16 -> 17 under write load: check, run, verify, switchover, reverse replication, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v16_17' });
});
