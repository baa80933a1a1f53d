// A replication slot the source invalidated, for each reason a primary has:
// - wal_removed (17 -> 18): the subscriber is stopped while the source
//   writes more WAL than max_slot_wal_keep_size allows, checkpoints remove
//   it, and the slot's wal_status becomes 'lost';
// - idle_timeout (18+, so on the target: the reverse slot after a
//   switchover): the reverse subscription is disabled for longer than
//   idle_replication_slot_timeout and a checkpoint invalidates the idle slot.
// status lists the problem with its real cause, check reports it as a FAIL,
// wait gives up, switchover (or rollback) refuses before pausing anything:
// the side with the writes keeps them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, waitFor } from '../helpers/harness.js';
import { namesFor } from '../../src/replication/names.js';
import { assertSourceUnfenced, refusedSwitchover, streamingItems } from './faults-helpers.js';
import { cliStatus, startStreaming } from '../helpers/fault-scenario.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(17, 18, {
    settings: { max_slot_wal_keep_size: '1MB', wal_keep_size: 0, max_wal_size: '32MB', min_wal_size: '32MB', checkpoint_timeout: '1h' },
  });
});
after(async () => {
  await pair?.stop();
});

test('a lost slot: status and check report it, switchover refuses and leaves the source writable', async () => {
  const db = await pair.freshDatabase('slot', { onTarget: true });
  for (const c of [pair.source, pair.target]) await c.sql('CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL)', [], db);
  await pair.source.sql("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 100) g", [], db);
  const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n');
  await startStreaming({ cfg, db }, pair.env());
  const env = pair.env();
  const { subscription: sub, slot } = namesFor(db);

  // The subscriber stops; the slot stays behind while the source moves on.
  await pair.target.sql(`ALTER SUBSCRIPTION ${sub} DISABLE`, [], db);
  await waitFor(async () => (await pair.source.sql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]))[0]?.active === false,
    { timeoutMs: 30_000, what: 'the slot to become inactive' });
  let next = 1000;
  await waitFor(async () => {
    await pair.source.sql("INSERT INTO items SELECT g, repeat('x', 500) FROM generate_series($1::int, $1::int + 2000) g", [next], db);
    next += 3000;
    await pair.source.sql('SELECT pg_switch_wal()');
    await pair.source.sql('CHECKPOINT');
    const r = await pair.source.sql<{ wal_status: string }>('SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    return r[0]?.wal_status === 'lost';
  }, { timeoutMs: 60_000, intervalMs: 100, what: "the slot's wal_status to become lost" });

  const { code: stCode, status: s } = await cliStatus({ cfg, db }, pair.env());
  assert.equal(stCode, 1);
  assert.equal(s.slot.walStatus, 'lost');
  assert.equal(s.slot.invalidationReason, 'wal_removed');
  assert.match(problemOf(s.problems, 'slot_lost')?.message ?? '', /slot .* is lost/, problemLines(s.problems));

  const ck = await runCli(['-c', cfg, '--json', 'check', db], { env });
  assert.equal(ck.code, 1, ck.stderr);
  const report = JSON.parse(ck.stdout) as { ok: boolean; findings: { id: string; severity: string; database?: string; objects: string[] }[] };
  assert.equal(report.ok, false);
  const lost = report.findings.find((f) => f.id === 'slot.lost');
  assert.ok(lost, JSON.stringify(report.findings.map((f) => `${f.severity} ${f.id}`)));
  assert.equal(lost.severity, 'fail');
  assert.equal(lost.database, db);
  assert.match(lost.objects[0]!, /wal_status lost, invalidation_reason wal_removed/);
  const human = await runCli(['-c', cfg, 'check', db], { env });
  assert.equal(human.code, 1);
  assert.match(human.stderr, /FAIL\s+source\s+pgshift's replication slot on the source is lost/);

  // Enabled again the subscriber cannot continue; switchover must not even pause.
  await pair.target.sql(`ALTER SUBSCRIPTION ${sub} ENABLE`, [], db);
  await refusedSwitchover(pair, cfg, db, /slot .* on the source is lost: the server removed WAL it still needed/);
  await assertSourceUnfenced(pair, db, "INSERT INTO items VALUES (-1, 'written after the refused switchover')");
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m'], { env, timeoutMs: 60_000 });
  assert.equal(w.code, 1);
  assert.match(w.stderr, /is lost/);
});

test('after a switchover, a reverse slot left idle past idle_replication_slot_timeout (18): status, check and rollback name that cause', async () => {
  const { db, cfg, env } = await streamingItems(pair, 'idle');
  const sw = await runCli(['-c', cfg, '--yes', 'switchover', db, '--max-pause', '5s'], { env, timeoutMs: 90_000 });
  assert.equal(sw.code, 0, sw.stderr);
  const { reverseSubscription: rsub, reverseSlot: rslot } = namesFor(db);
  const healthy = await cliStatus({ cfg, db }, pair.env());
  assert.deepEqual(healthy.status.problems, []);
  assert.equal(healthy.status.reverse?.enabled, true);
  assert.equal(healthy.status.reverse?.slotExists, true);

  // The rollback path goes idle: the reverse subscription on the source is disabled.
  await pair.source.sql(`ALTER SUBSCRIPTION ${rsub} DISABLE`, [], db);
  await waitFor(async () => (await pair.target.sql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [rslot]))[0]?.active === false,
    { timeoutMs: 30_000, what: 'the reverse slot to become inactive' });
  pair.target.addSettings({ idle_replication_slot_timeout: '1s' });
  await pair.target.sql('SELECT pg_reload_conf()');
  // The checkpointer invalidates idle slots when it checkpoints.
  await waitFor(async () => {
    await pair.target.sql('CHECKPOINT');
    const r = await pair.target.sql<{ reason: string | null }>('SELECT invalidation_reason AS reason FROM pg_replication_slots WHERE slot_name = $1', [rslot]);
    return r[0]?.reason === 'idle_timeout';
  }, { timeoutMs: 30_000, intervalMs: 300, what: 'the idle reverse slot to be invalidated' });

  const { code: stCode, status: s } = await cliStatus({ cfg, db }, pair.env());
  assert.equal(stCode, 1);
  assert.equal(s.phase, 'switched over');
  assert.equal(s.reverse?.invalidationReason, 'idle_timeout');
  assert.equal(s.reverse?.walStatus, 'lost');
  assert.deepEqual(s.problems.map((p) => p.code), ['reverse_slot_lost'], problemLines(s.problems));
  assert.match(s.problems[0]!.message, /reverse replication slot .* on the target is lost: it was unused for longer than idle_replication_slot_timeout.*rollback is not possible/);
  assert.equal(s.problems[0]!.fix, `when the source is no longer needed: pgshift cleanup ${db}`);

  const ck = await runCli(['-c', cfg, '--json', 'check', db], { env });
  assert.equal(ck.code, 1, ck.stderr);
  const report = JSON.parse(ck.stdout) as { findings: { id: string; severity: string; side: string; title: string; fix?: string; objects: string[] }[] };
  const f = report.findings.find((x) => x.id === 'slot.lost');
  assert.ok(f, JSON.stringify(report.findings.map((x) => `${x.severity} ${x.id}`)));
  assert.equal(f.side, 'target');
  assert.match(f.title, /reverse replication \(rollback\) slot on the target is lost: it was unused for longer than idle_replication_slot_timeout/);
  assert.match(f.objects[0]!, /invalidation_reason idle_timeout/);
  assert.match(f.fix ?? '', /raise idle_replication_slot_timeout on the target/);
  assert.doesNotMatch(f.fix ?? '', /max_slot_wal_keep_size/);

  const rb = await runCli(['-c', cfg, '--yes', 'rollback', db, '--max-pause', '5s'], { env, timeoutMs: 90_000 });
  assert.equal(rb.code, 1, rb.stderr);
  assert.match(rb.stderr, /slot .* on the target is lost: it was unused for longer than idle_replication_slot_timeout/);
  assert.match(rb.stderr, /Writes were not paused/);
  // The target keeps taking writes.
  await pair.target.sql("INSERT INTO items VALUES (-2, 'written on the target after the refused rollback')", [], db);
});
