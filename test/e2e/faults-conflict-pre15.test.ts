// A row on the target that conflicts with one from the source, on a target
// before 15 (13 -> 14): no disable_on_error and no error counters, so the
// apply worker fails, restarts and fails again. pgshift says so: status
// shows the error and the conflicting key from the target's log, wait
// sees the apply worker restarting, disables the subscription so it stops
// looping, and fails with the key; switchover refuses before pausing and
// leaves the source writable and unfenced. Fixed on the target and enabled
// again, the source row arrives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, qi, runCli, waitFor } from '../helpers/harness.js';
import { assertSourceUnfenced, converged, refusedSwitchover, streamingItems } from './faults-helpers.js';
import { cliStatus, cliWait } from '../helpers/fault-scenario.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(13, 14, { settings: { logging_collector: true, wal_retrieve_retry_interval: '300ms' } });
});
after(async () => {
  await pair?.stop();
});

test('a conflicting row on a 14 target: the error loop is reported with its key, wait disables it, switchover refuses; fixed, the row arrives', async () => {
  const { db, cfg, env } = await streamingItems(pair, 'conflict14');

  await pair.target.sql("INSERT INTO items VALUES (4242, 'target only')", [], db);
  await pair.source.sql("INSERT INTO items VALUES (4242, 'from source')", [], db);

  const s = await waitFor(async () => {
    const { code, status: s } = await cliStatus({ cfg, db }, pair.env());
    return code === 1 && problemOf(s.problems, 'apply_error_retrying') ? s : undefined;
  }, { timeoutMs: 60_000, intervalMs: 300, what: "status to report the apply error from the target's log" });
  assert.equal(s.subscription.enabled, true, 'no disable_on_error before 15');
  assert.equal(s.errors.apply, null, 'no error counters before 15');
  assert.match(s.errors.lastDetail ?? '', /Key \(id\)=\(4242\) already exists/);
  assert.match(problemOf(s.problems, 'apply_error_retrying')!.message, /replication error in the target's log.*Key \(id\)=\(4242\) already exists.*retries, and fails again/, problemLines(s.problems));

  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m', '--interval', '200ms'], { env, timeoutMs: 120_000 });
  assert.equal(w.code, 1, w.stderr);
  assert.match(w.stderr, /apply worker restarted \d+ times while waiting/);
  assert.match(w.stderr, /Key \(id\)=\(4242\) already exists.*pgshift disabled subscription/s);
  const sub = (await pair.target.sql<{ subname: string; subenabled: boolean }>('SELECT subname, subenabled FROM pg_subscription', [], db))[0]!;
  assert.equal(sub.subenabled, false, 'wait stops the looping worker');

  await refusedSwitchover(pair, cfg, db, /is disabled.*Key \(id\)=\(4242\) already exists/s);
  await assertSourceUnfenced(pair, db, "INSERT INTO items VALUES (4244, 'written after the refused switchover')");

  await pair.target.sql('DELETE FROM items WHERE id = 4242', [], db);
  await pair.target.sql(`ALTER SUBSCRIPTION ${qi(sub.subname)} ENABLE`, [], db);
  await cliWait({ cfg, db }, env);
  // Every source row, 4242 included, on the target.
  await converged(pair, db, 'public', 'items');
  const got = await pair.target.sql<{ v: string }>('SELECT v FROM items WHERE id = 4242', [], db);
  assert.deepEqual(got.map((r) => r.v), ['from source']);
});
