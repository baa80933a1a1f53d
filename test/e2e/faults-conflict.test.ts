// A row on the target that conflicts with one from the source (unique
// violation), on a 15+ target (14 -> 16). The apply worker fails and
// retries; status shows the error with the conflicting key from the target's
// log while it happens; `pgshift wait` sees the error repeat and disables the
// subscription (so it stops looping) and fails with the cause; switchover
// refuses without pausing (the source stays writable and unfenced). Nothing
// is skipped: once the user deletes the conflicting target row and enables
// the subscription, the source's row arrives and both sides hold the same rows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, waitFor } from '../helpers/harness.js';
import { namesFor } from '../../src/replication/names.js';
import { assertSourceUnfenced, converged, refusedSwitchover, streamingItems } from './faults-helpers.js';
import { cliStatus, cliWait } from '../helpers/fault-scenario.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

let pair: Pair;
before(async () => {
  // logging_collector: the conflicting key is only in the server log, read through SQL.
  pair = await Pair.start(14, 16, { settings: { logging_collector: true, wal_retrieve_retry_interval: '300ms' } });
});
after(async () => {
  await pair?.stop();
});

test('a conflicting row on a 15+ target: reported with its key while it loops, wait disables it, switchover refuses; fixed, the source row arrives', async () => {
  const { db, cfg, env } = await streamingItems(pair, 'conflict');
  const sub = namesFor(db).subscription;

  await pair.target.sql("INSERT INTO items VALUES (4242, 'target only')", [], db);
  await pair.source.sql("INSERT INTO items VALUES (4242, 'from source')", [], db);
  await pair.source.sql("INSERT INTO items VALUES (4243, 'after the conflict')", [], db);
  // While the worker retries, status already names the row.
  await waitFor(async () => {
    const { status: live } = await cliStatus({ cfg, db }, pair.env());
    return live.subscription.enabled === true && (live.errors.apply ?? 0) >= 1 &&
      live.problems.some((p) => p.code === 'apply_error_retrying' && /replication error in the target's log.*Key \(id\)=\(4242\) already exists/.test(p.message));
  }, { timeoutMs: 60_000, what: 'status to report the failing apply with its key' });

  // wait: the error repeats, so it stops the subscription instead of letting it loop, and says why.
  const stuck = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m', '--interval', '300ms'], { env, timeoutMs: 120_000 });
  assert.equal(stuck.code, 1, stuck.stderr);
  assert.match(stuck.stderr, /stuck on a change the target rejects \(Key \(id\)=\(4242\) already exists\. on public\.items\)/);
  assert.match(stuck.stderr, /pgshift disabled subscription/);
  assert.match(stuck.stderr, /Nothing was skipped/);
  assert.equal((await pair.target.sql<{ subenabled: boolean }>('SELECT subenabled FROM pg_subscription WHERE subname = $1', [sub]))[0]!.subenabled, false);

  const { code: stCode, status: s } = await cliStatus({ cfg, db }, pair.env());
  assert.equal(stCode, 1);
  assert.equal(s.phase, 'stopped');
  assert.equal(s.subscription.enabled, false);
  assert.ok((s.errors.apply ?? 0) >= 1, JSON.stringify(s.errors));
  assert.match(s.errors.last ?? '', /duplicate key value violates unique constraint/);
  assert.match(s.errors.lastDetail ?? '', /Key \(id\)=\(4242\) already exists/);
  assert.equal(s.errors.lastRelation, 'public.items');
  assert.ok(problemOf(s.problems, 'subscription_disabled'), problemLines(s.problems));
  const stopped = problemOf(s.problems, 'apply_error_stopped');
  assert.match(stopped?.message ?? '', /Key \(id\)=\(4242\) already exists.*on public\.items/, problemLines(s.problems));
  assert.match(stopped?.fix ?? '', /^delete or change it there/, problemLines(s.problems));

  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m'], { env, timeoutMs: 60_000 });
  assert.equal(w.code, 1);
  assert.match(w.stderr, /subscription .* is disabled/);

  await refusedSwitchover(pair, cfg, db, /subscription .* is disabled.*Key \(id\)=\(4242\) already exists/s);
  await assertSourceUnfenced(pair, db, "INSERT INTO items VALUES (4244, 'written after the refused switchover')");
  // Still disabled: the refusal changed nothing on the target either.
  assert.equal((await pair.target.sql<{ subenabled: boolean }>('SELECT subenabled FROM pg_subscription WHERE subname = $1', [sub]))[0]!.subenabled, false);

  // The user's fix: the target's row goes, the subscription resumes from the failed transaction.
  await pair.target.sql('DELETE FROM items WHERE id = 4242', [], db);
  await pair.target.sql(`ALTER SUBSCRIPTION ${sub} ENABLE`, [], db);
  await cliWait({ cfg, db }, env);
  // Every source row, 4242 included, on the target.
  await converged(pair, db, 'public', 'items');
  const got = await pair.target.sql<{ v: string }>('SELECT v FROM items WHERE id = 4242', [], db);
  assert.deepEqual(got.map((r) => r.v), ['from source']);
});
