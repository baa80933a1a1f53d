// A replication slot the source invalidated (17 -> 18): the subscriber is
// stopped while the source writes more WAL than max_slot_wal_keep_size
// allows, checkpoints remove it, and the slot's wal_status becomes 'lost'
// (invalidation_reason wal_removed on 17+). status lists the problem, check
// reports it as a FAIL, switchover refuses before pausing anything: the
// source stays writable and unfenced.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, waitFor } from '../helpers/harness.js';
import { namesFor } from '../../src/steps/names.js';
import { assertSourceUnfenced, refusedSwitchover, startAndWait, statusJson } from './faults-helpers.js';

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
  await startAndWait(pair, cfg, db);
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

  const { r: st, s } = await statusJson(pair, cfg, db);
  assert.equal(st.code, 1);
  assert.equal(s.slot.walStatus, 'lost');
  assert.equal(s.slot.invalidationReason, 'wal_removed');
  assert.ok(s.problems.some((p: string) => /slot .* is lost/.test(p)), s.problems.join('\n'));

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
  await refusedSwitchover(pair, cfg, db, /slot .* is lost: the source removed WAL it still needed/);
  await assertSourceUnfenced(pair, db, "INSERT INTO items VALUES (-1, 'written after the refused switchover')");
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m'], { env, timeoutMs: 60_000 });
  assert.equal(w.code, 1);
  assert.match(w.stderr, /is lost/);
});
