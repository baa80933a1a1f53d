// The version matrix (README "Versions"): 11 -> 17 under write load
// (versions-scenario.ts) with a rollback: 11 publishes each leaf partition
// on its own, has no pg_partition_tree/root, and as the reverse subscriber
// none of streaming, binary, disable_on_error, origin. Then an 11 schema
// with what 12+ and 14+ cannot restore: check names each object and the
// fix, schema refuses, and after the fixes run copies it.
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';
import { legacyCheckAndFix } from '../helpers/legacy-schema.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(11, 17);
});
after(async () => {
  await pair?.stop();
});

test('11 -> 17 under write load: check, run, verify, switchover, rollback, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v11_17', rollback: true });
});

test('an 11 schema 12+ cannot restore: check names every object and its fix, schema refuses, run copies it after the fixes', async () => {
  await legacyCheckAndFix(pair);
});
