// A network cut between the target server and the source loses nothing
// (14 -> 17, a fresh database per test, the ledgered write load running on the
// source throughout). The subscription reaches the source through a TCP proxy
// the test controls (source.conn_from_target); the pgshift CLI connects
// directly, as an operator's machine would while the servers' network is cut.
// wal_sender_timeout and wal_receiver_timeout are 2s, so the servers notice a
// silent partition quickly. While cut: `status --json` names the problem in
// words a person can act on and `wait` does not report success; after heal:
// replication resumes by itself, every acknowledged write is on the target
// exactly once, every table is identical row by row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, waitFor } from '../helpers/harness.js';
import { TcpProxy, type CutOptions } from '../helpers/tcp-proxy.js';
import { loadConfig } from '../../src/config/config.js';
import { getStatus } from '../../src/status/probe.js';
import { assertNothingLost, assertStillEnabled, cliStatus, cliWait, faultDatabase, ledgerLoad, serverErrors, startStreaming } from '../helpers/fault-scenario.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
let proxy: TcpProxy;
before(async () => {
  pair = await Pair.start(FROM, TO, {
    settings: { wal_sender_timeout: '2s', wal_receiver_timeout: '2s', wal_retrieve_retry_interval: '500ms', synchronous_commit: 'on' },
  });
  proxy = await TcpProxy.start(pair.source.host, pair.source.port);
});
after(async () => {
  await proxy?.close();
  await pair?.stop();
});

async function cutAndHeal(t: { diagnostic(m: string): void }, prefix: string, how: Required<CutOptions>): Promise<void> {
  const f = await faultDatabase(pair, prefix, 2_000, (yaml) =>
    yaml.replace('\ntarget:\n', `\n  conn_from_target: "host=${proxy.host} port=${proxy.port} user=${pair.source.superuser}"\ntarget:\n`));
  const env = pair.env();
  const config = loadConfig(f.cfg, env);
  assert.equal(config.source.connFromPeer?.port, String(proxy.port), 'the config routes the subscription through the proxy');
  const load = await ledgerLoad(pair, f);
  let report;
  try {
    await startStreaming(f, env);
    assert.ok(proxy.openConnections > 0, 'the subscription streams through the proxy');

    const ackedAtCut = load.acknowledged();
    proxy.cut(how);
    // What an operator sees while the network is down.
    let seen: Awaited<ReturnType<typeof cliStatus>> | undefined;
    const down = await waitFor(async () => {
      seen = await cliStatus(f, env);
      const reported = seen.status.slot.active === false && problemOf(seen.status.problems, 'slot_inactive') !== undefined;
      return reported || seen.status.subscription.enabled === false ? seen : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'status to report the cut' }).catch((e: Error) => {
      throw new Error(`${e.message}\nlast status: slot active ${seen?.status.slot.active}, problems:\n${problemLines(seen?.status.problems ?? [])}\ntarget log:\n${serverErrors(pair.target)}`);
    });
    assertStillEnabled(down.status, pair.target, 'after the network cut');
    t.diagnostic(`status while cut (exit ${down.code}): ${problemLines(down.status.problems)}`);
    assert.equal(down.code, 1, 'status exits 1 while replication is broken');
    const slotProblem = problemOf(down.status.problems, 'slot_inactive')?.message ?? '';
    assert.ok(slotProblem.startsWith(`replication slot ${down.status.slot.name} is not in use: `), problemLines(down.status.problems));
    assert.match(slotProblem, new RegExp(`port ${proxy.port} `), 'the problem names where the target tries to reach the source');

    const w = await runCli(['-c', f.cfg, 'wait', f.db, '--timeout', '4s', '--interval', '300ms'], { env, timeoutMs: 60_000 });
    assert.equal(w.code, 1, `wait reported success while the network was cut:\n${w.stderr}`);
    assert.match(w.stderr, /did not catch up within 4\.00s/);
    assert.match(w.stderr, /is not in use/, 'wait says why it did not catch up');
    t.diagnostic(`wait while cut (exit ${w.code}): ${w.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    // The load went on while cut: these writes must cross after the heal.
    await waitFor(async () => load.acknowledged() > ackedAtCut + 200, { timeoutMs: 60_000, what: 'writes on the source while cut' });

    proxy.heal();
    await cliWait(f, env);
    const s = await getStatus(config, f.db);
    assert.equal(s.slot.active, true);
    assert.ok(!s.problems.some((p) => p.code.startsWith('slot_') || p.message.includes(s.slot.name)), problemLines(s.problems));
  } finally {
    if (proxy.isCut) proxy.heal();
    report = await load.stop();
  }
  const check = await assertNothingLost(pair, f, report);
  t.diagnostic(`${report.transactions} acknowledged writes, ${check.unacknowledged} unacknowledged; ${proxy.acceptedWhileCut} connections held or refused while cut`);
}

test(`${FROM} -> ${TO}: a silent partition (live connections freeze, new ones hang) longer than the timeouts`, async (t) => {
  await cutAndHeal(t, 'fn silent', { existing: 'stall', fresh: 'blackhole' });
});

test(`${FROM} -> ${TO}: a hard cut (live connections reset, new ones refused)`, async (t) => {
  await cutAndHeal(t, 'fn reset', { existing: 'reset', fresh: 'refuse' });
});

test(`${FROM} -> ${TO}: a partition before any timeout fires: status calls the silent walsender stale, wait does not succeed`, async (t) => {
  // Timeouts off, replies every second: the servers would not notice the cut for a long time (never, here), so the slot stays "in use".
  const set = async (sql: string): Promise<void> => {
    for (const c of [pair.source, pair.target]) {
      await c.sql(sql.replace('$SETTING', 'wal_sender_timeout'));
      await c.sql(sql.replace('$SETTING', 'wal_receiver_timeout'));
      await c.sql('SELECT pg_catalog.pg_reload_conf()');
    }
  };
  await pair.target.sql("ALTER SYSTEM SET wal_receiver_status_interval = '1s'");
  await set("ALTER SYSTEM SET $SETTING = '0'");
  const f = await faultDatabase(pair, 'fn stale', 500, (yaml) =>
    yaml.replace('\ntarget:\n', `\n  conn_from_target: "host=${proxy.host} port=${proxy.port} user=${pair.source.superuser}"\ntarget:\n`));
  const env = pair.env();
  const load = await ledgerLoad(pair, f);
  let report;
  try {
    await startStreaming(f, env);
    proxy.cut({ existing: 'stall', fresh: 'blackhole' });
    const down = await waitFor(async () => {
      const s = await cliStatus(f, env);
      return s.status.walsender?.stale === true ? s : undefined;
    }, { timeoutMs: 30_000, intervalMs: 500, what: 'status to call the silent walsender stale' });
    t.diagnostic(`status while cut: ${problemLines(down.status.problems)}`);
    assert.equal(down.status.slot.active, true, 'the slot still looks in use: only the stale reply shows the cut');
    assert.equal(down.code, 1);
    assert.match(problemOf(down.status.problems, 'walsender_stale')?.message ?? '', /has heard nothing from the target for \d+ s/, problemLines(down.status.problems));
    const w = await runCli(['-c', f.cfg, 'wait', f.db, '--timeout', '4s', '--interval', '300ms'], { env, timeoutMs: 60_000 });
    assert.equal(w.code, 1, `wait reported success while the network was cut:\n${w.stderr}`);
    assert.match(w.stderr, /heard nothing from the target/);
    proxy.heal();
    await cliWait(f, env);
  } finally {
    if (proxy.isCut) proxy.heal();
    report = await load.stop();
    await pair.target.sql('ALTER SYSTEM RESET wal_receiver_status_interval');
    await set('ALTER SYSTEM RESET $SETTING');
  }
  await assertNothingLost(pair, f, report);
});
