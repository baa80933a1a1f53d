// Server restarts lose nothing (14 -> 17, a fresh database per test, the
// ledgered write load running on the source throughout):
//   - the target crashes (immediate stop) in the middle of the initial copy of
//     a table: after it restarts, the copy starts over and completes;
//   - the target crashes while catching up, with megabytes of lag;
//   - the source restarts, fast then immediate, while streaming.
// Each time `pgshift wait` succeeds afterwards (in the catch-up test, a wait
// started before the crash rides it out), every acknowledged write is on the
// target exactly once, and every table is identical row by row.
// synchronous_commit is on: with it off (the embedded default) an immediate
// stop of the source loses commits the client already saw acknowledged, on
// the source itself, which no replication could carry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, waitFor } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { getStatus } from '../../src/status/probe.js';
import { assertNothingLost, assertStillEnabled, cliWait, faultDatabase, startStreaming, holdBrake, installBrake, ledgerLoad } from '../helpers/fault-scenario.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO, { settings: { synchronous_commit: 'on', wal_retrieve_retry_interval: '500ms' } });
});
after(async () => {
  await pair?.stop();
});

test(`${FROM} -> ${TO}: the target crashes during the initial copy; after a restart the copy completes and nothing is lost`, async (t) => {
  const f = await faultDatabase(pair, 'fr copy', 30_000);
  const env = pair.env();
  // Hold the copy of public.bulk from row 1000 on, so the crash lands mid-COPY however fast this machine is.
  await installBrake(pair.target, f.db, 'public', 'bulk', 4201, 'NEW.id > 1000');
  const brake = await holdBrake(pair.target, f.db, 4201);
  const load = await ledgerLoad(pair, f);
  let report;
  try {
    const start = await runCli(['-c', f.cfg, 'start', f.db], { env });
    assert.equal(start.code, 0, start.stderr);
    const config = loadConfig(f.cfg, env);
    await waitFor(async () => {
      const s = await getStatus(config, f.db);
      const bulk = s.tables.find((x) => x.name === 'bulk');
      return bulk?.stateCode === 'd' && bulk.copy !== null && bulk.copy.rows >= 1000;
    }, { timeoutMs: 60_000, intervalMs: 100, what: 'public.bulk to be part-way through its copy' });

    await pair.target.stopServer('immediate');
    await brake.end().catch(() => undefined);
    await pair.target.startServer();
    const after = await getStatus(config, f.db);
    t.diagnostic(`after the crash: bulk ${after.tables.find((x) => x.name === 'bulk')?.state}, ${after.tablesReady}/${after.tablesTotal} ready`);
    assertStillEnabled(after, pair.target, 'after the crash');
    await cliWait(f, env);
  } finally {
    report = await load.stop();
  }
  const check = await assertNothingLost(pair, f, report);
  t.diagnostic(`${report.transactions} acknowledged writes, ${check.unacknowledged} unacknowledged`);
  const [n] = await pair.target.sql<{ n: string }>('SELECT count(*) AS n FROM public.bulk', [], f.db);
  assert.equal(Number(n!.n), 30_000);
});

test(`${FROM} -> ${TO}: the target crashes while catching up under load; a wait started before the crash rides it out`, async (t) => {
  const f = await faultDatabase(pair, 'fr catchup', 2_000);
  const env = pair.env();
  // Audit rows are 10% of the load: a brake there stops the whole apply.
  await installBrake(pair.target, f.db, 'pgshift_load', 'audit', 4202, 'true');
  const load = await ledgerLoad(pair, f);
  let report;
  try {
    await startStreaming(f, env);

    const brake = await holdBrake(pair.target, f.db, 4202);
    const config = loadConfig(f.cfg, env);
    const lagging = await waitFor(async () => {
      const s = await getStatus(config, f.db);
      return s.phase === 'streaming' && s.lagBytes !== null && s.lagBytes > 2 * 1024 * 1024 ? s : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'the target to fall 2 MB behind' });
    t.diagnostic(`lag before the crash: ${lagging.lagBytes} bytes`);

    // Lag is over wait's 1 MB threshold, so this wait cannot succeed before the crash.
    const waiting = runCli(['-c', f.cfg, 'wait', f.db, '--timeout', '150s', '--interval', '300ms'], { env, timeoutMs: 180_000 });
    await pair.target.stopServer('immediate');
    await brake.end().catch(() => undefined);
    await pair.target.startServer();
    const w = await waiting;
    assert.equal(w.code, 0, `the wait across the crash failed:\n${w.stderr}`);
  } finally {
    report = await load.stop();
  }
  const check = await assertNothingLost(pair, f, report);
  t.diagnostic(`${report.transactions} acknowledged writes, ${check.unacknowledged} unacknowledged`);
});

test(`${FROM} -> ${TO}: the source restarts (fast, then immediate) while streaming under load`, async (t) => {
  const f = await faultDatabase(pair, 'fr source', 2_000);
  const env = pair.env();
  const load = await ledgerLoad(pair, f);
  let report;
  try {
    await startStreaming(f, env);
    for (const mode of ['fast', 'immediate'] as const) {
      const before = load.acknowledged();
      await pair.source.restart(mode);
      // The load reconnects and writes again before replication is checked.
      await waitFor(async () => load.acknowledged() > before + 100, { timeoutMs: 60_000, what: `the load to write again after the ${mode} restart` });
      const config = loadConfig(f.cfg, env);
      const s = await getStatus(config, f.db);
      assertStillEnabled(s, pair.target, `after a ${mode} restart of the source`);
      await cliWait(f, env);
    }
  } finally {
    report = await load.stop();
  }
  const check = await assertNothingLost(pair, f, report);
  t.diagnostic(`${report.transactions} acknowledged writes, ${report.errors} failed during the restarts, ${check.unacknowledged} unacknowledged`);
});
