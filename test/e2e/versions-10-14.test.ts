// The version matrix (README "Versions"), oldest source: 10 -> 14 under
// write load (versions-scenario.ts) with a rollback. 10 publishes each leaf
// partition on its own, replicates no TRUNCATE, and as the reverse
// subscriber must not be sent one: a TRUNCATE on the target after the
// switchover must leave the reverse replication running (it looped on
// "invalid logical replication message type" and the rollback was refused).
// Then a 10 schema with what 12+ and 14+ cannot restore: check names each
// object and the fix, schema refuses, and after the fixes run copies it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair } from '../helpers/harness.js';
import { versionsRun } from '../helpers/versions-scenario.js';
import { legacyCheckAndFix } from '../helpers/legacy-schema.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(10, 14);
});
after(async () => {
  await pair?.stop();
});

test('10 -> 14 under write load: check, run, verify, switchover, a TRUNCATE on the target, rollback, cleanup', async () => {
  await versionsRun(pair, {
    prefix: 'v10_14',
    rollback: true,
    afterSwitchover: async (p, db) => {
      await p.target.sql('TRUNCATE pgshift_load.audit', [], db);
      // The reverse replication goes on past it: a row written after it reaches the source.
      await p.target.sql("INSERT INTO pgshift_load.audit (client, ticket, payload) VALUES (-10, -10, 'after truncate')", [], db);
      const deadline = Date.now() + 60_000;
      while ((await p.source.sql("SELECT 1 FROM pgshift_load.audit WHERE payload = 'after truncate'", [], db)).length === 0) {
        assert.ok(Date.now() < deadline, 'a write on the target after a TRUNCATE never reached the 10 source');
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  });
});

test('a 10 schema 12+ cannot restore: check names every object and its fix, schema refuses, run copies it after the fixes', async () => {
  await legacyCheckAndFix(pair);
});
