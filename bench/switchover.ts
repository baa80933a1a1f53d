// Switchover benchmark: pgbench TPC-B (plus one ledger row per transaction),
// 8 clients through PgBouncer, on two embedded clusters of different majors
// (14 -> 18 by default). N round trips on one database, each a switchover
// then a rollback, with no new initial copy in between (every move leaves
// replication running the other way). For each move: pgshift's write pause
// and its phases, the longest transaction a client saw (pgbench's
// per-transaction log), processed and failed transactions, and the ledger
// check: every transaction pgbench counted is on the side taking writes
// exactly once, and replication carried it to the other side too.
//
// Beside it, in the same run and under the same load, the floor a person
// gets by hand with the same safety wait: PgBouncer PAUSE -> a mark on the
// source -> wait until the target's apply worker read past it and flush the
// target's WAL -> sequences -> repoint pgbouncer.ini, RELOAD -> RESUME (all
// connections opened beforehand). It has no fence proof and no reverse
// replication, so it is one way only: one fresh database per round.
// Baseline rounds run between pgshift's round trips, so both see the same
// load. Then the revoke method (no PgBouncer; clients are cut off by design):
// one switchover and one rollback per round, pause only.
// For each move: the load averages (as uptime shows them) when it started,
// the longest client transaction that overlapped the write pause (pgbench's
// log lined up with pgshift's timeline through its startedAt), beside it the
// longest that overlapped the whole command and where among the phases that
// one fell (on a 2-CPU machine, pgshift's own start-up and its work after the
// resume compete with the clients too), and the longest of the whole pgbench
// run; per direction the medians, the ratio to the baseline and the issue 14
// targets met or not (the longest transaction target on the pause figure).
//   node dist/bench/switchover.js [--from 14 --to 18] [--rounds 3] [--duration 12] [--no-revoke]
// BENCH_DEBUG=1 prints, every second of each load, the sessions of the
// database on both sides and PgBouncer's pool (where a long stall comes from);
// --baseline-only skips pgshift's rounds.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import os from 'node:os';
import { Pair, runCli, waitFor } from '../test/helpers/harness.js';
import { EmbeddedPgBouncer } from '../src/embedded/pgbouncer.js';
import { loadConfig } from '../src/config/config.js';
import { connect, type Db } from '../src/pg/connect.js';
import { lsnGte } from '../src/pg/lsn.js';
import { sqlFile } from '../src/pg/sql.js';
import { namesFor } from '../src/replication/names.js';
import { BouncerConsole, entryFor, repointConfigFile } from '../src/switchover/pgbouncer-admin.js';
import { markPosition } from '../src/replication/catch-up.js';
import { applySequences, planSequences } from '../src/switchover/sequences.js';
import { bouncerYaml, parsePgbench, pgbench, pgbenchDatabase, startAndWait, writeScript } from '../test/helpers/switchover-fixture.js';

const { values } = parseArgs({ options: {
  from: { type: 'string', default: '14' },
  to: { type: 'string', default: '18' },
  rounds: { type: 'string', default: '3' },
  duration: { type: 'string', default: '12' },
  'no-revoke': { type: 'boolean', default: false },
  'baseline-only': { type: 'boolean', default: false },
} });
const FROM = Number(values.from);
const TO = Number(values.to);
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CLIENTS = 8;

interface Move {
  scenario: 'pgbouncer' | 'baseline' | 'revoke';
  round: number;
  direction: 'switchover' | 'rollback';
  pauseMs: number;
  phases: Record<string, number>;
  /**
   * Longest client transaction that overlapped the write pause (from the pause
   * to the end of the resume; pgbench's log lined up with pgshift's timeline).
   * The baseline's move is its pause.
   */
  stallMs: number;
  /** Longest client transaction that overlapped the whole command (start-up, checks and the work after the resume included). */
  commandStallMs: number;
  /** Longest client transaction of the whole pgbench run. */
  runMaxMs: number;
  /** Load averages (1, 5, 15 min) when the move started. */
  load: [number, number, number];
  processed: number;
  failed: number;
  abortedClients: number;
  /** The move finished while pgbench was still running (it ran under load). */
  underLoad: boolean;
  ledger?: string;
}

let logSeq = 0;
let cfgPathGlobal: string | undefined;

/**
 * The longest transaction in pgbench's per-transaction log (client, number,
 * latency us, script, end epoch s, end us): over the whole run, and among
 * those that overlapped [from, to] (epoch ms).
 */
function maxLatencyMs(dir: string, prefix: string, from: number, to: number, pause?: [number, number]): { run: number; move: number; moveStartMs: number; pause: number } {
  let run = 0;
  let move = 0;
  let moveStartMs = 0;
  let inPause = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const [, , lat, , sec, usec] = line.split(' ').map(Number);
      if (!Number.isFinite(lat) || !Number.isFinite(sec) || !Number.isFinite(usec)) continue;
      const endMs = sec! * 1000 + usec! / 1000;
      const ms = lat! / 1000;
      run = Math.max(run, ms);
      if (endMs >= from && endMs - ms <= to && ms > move) {
        move = ms;
        moveStartMs = endMs - ms - from;
      }
      if (pause && endMs >= pause[0] && endMs - ms <= pause[1]) inPause = Math.max(inPause, ms);
    }
  }
  return { run, move, moveStartMs, pause: pause ? inPause : move };
}

const loadNow = (): [number, number, number] => os.loadavg().map((x) => Math.round(x * 100) / 100) as [number, number, number];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (n: number): number => Math.round(n * 10) / 10;

const pair = await Pair.start(FROM, TO);
const script = writeScript(pair.dir, 'bench-ledger.sql');
const ledgerCount = async (side: 'source' | 'target', db: string): Promise<{ n: number; ids: number }> =>
  (await pair[side].sql<{ n: number; ids: number }>('SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM ledger', [], db))[0]!;

/**
 * Run pgbench for DURATION seconds against conn; once it has written `warm`
 * ledger rows, run move(); return pgbench's figures and the move's result.
 */
async function underLoad<T>(conn: { host: string; port: number; user: string; dbname: string }, password: string, loadSide: 'source' | 'target', move: () => Promise<T>): Promise<{ result: T; processed: number; failed: number; aborted: number; stallMs: number; commandStallMs: number; runMaxMs: number; load: [number, number, number]; underLoad: boolean; out: string }> {
  const prefix = `sw${++logSeq}`;
  const before = (await ledgerCount(loadSide, conn.dbname)).n;
  let finished = false;
  const bench = pgbench(['-n', '-M', 'simple', '-c', String(CLIENTS), '-j', '2', '-T', String(DURATION), '-f', script, '--log', `--log-prefix=${prefix}`], conn, password, pair.dir)
    .finally(() => (finished = true));
  const debug = process.env.BENCH_DEBUG ? setInterval(() => {
    for (const side of ["source", "target"] as const) void pair[side].sql<{ s: string }>("SELECT string_agg(coalesce(state, '-') || '/' || coalesce(wait_event_type, '') || ':' || coalesce(wait_event, ''), ' ') AS s FROM pg_stat_activity WHERE datname = $1", [conn.dbname])
      .then((r) => console.error(`${new Date().toISOString()} ${side} ${conn.dbname}: ${r[0]?.s}`));
    if (bouncer) void BouncerConsole.open(loadConfig(cfgPathGlobal!, pair.env()).switchover.pgbouncer!).then(async (c) => {
      const pools = (await c.command('SHOW POOLS')).filter((r) => r.database === conn.dbname);
      const servers = (await c.command('SHOW SERVERS')).filter((r) => r.database === conn.dbname).map((r) => `${String(r.state)}@${String(r.port)}`);
      console.error(`  pools ${JSON.stringify(pools)} servers ${servers.join(' ')}`);
      await c.close();
    });
  }, 1000) : undefined;
  await waitFor(async () => finished || (await ledgerCount(loadSide, conn.dbname)).n > before + 300, { timeoutMs: 60_000, what: 'the load to run' });
  const load = loadNow();
  const from = Date.now();
  const result = await move();
  const to = Date.now();
  const moved = !finished;
  const res = await bench;
  clearInterval(debug);
  const out = res.stdout + res.stderr;
  const s = parsePgbench(out);
  // pgshift's timeline (startedAt lines its clock up with the wall clock): the pause window and the phases.
  const tl = (result as { timeline?: { startedAt?: string; phases?: { phase: string; startMs: number; ms: number }[] } }).timeline;
  const t0 = tl?.startedAt ? Date.parse(tl.startedAt) : undefined;
  const pausePhase = tl?.phases?.find((p) => p.phase === 'pause');
  const resumePhase = tl?.phases?.find((p) => p.phase === 'resume');
  const window: [number, number] | undefined = t0 !== undefined && pausePhase && resumePhase
    ? [t0 + pausePhase.startMs, t0 + resumePhase.startMs + resumePhase.ms] : undefined;
  const lat = maxLatencyMs(pair.dir, prefix, from, to, window);
  // Where the command's longest transaction fell among pgshift's phases.
  const at = (ms: number): string => {
    if (t0 === undefined || !tl?.phases) return '';
    const t = from + ms - t0;
    const p = tl.phases.find((x) => t >= x.startMs && t <= x.startMs + x.ms) ?? [...tl.phases].reverse().find((x) => x.startMs <= t);
    return p ? ` (${p.phase}${t > p.startMs + p.ms ? ' done' : ''})` : ' (before the first phase)';
  };
  console.error(`  longest transaction overlapping the command: ${r1(lat.move)} ms, from ${r1(lat.moveStartMs)} ms${at(lat.moveStartMs)} to ${r1(lat.moveStartMs + lat.move)} ms${at(lat.moveStartMs + lat.move)} after it started (it took ${to - from} ms); overlapping the pause: ${r1(lat.pause)} ms`);
  return { result, processed: s.processed, failed: s.failed, aborted: (out.match(/client \d+ aborted/g) ?? []).length, stallMs: lat.pause, commandStallMs: lat.move, runMaxMs: lat.run, load, underLoad: moved, out };
}

interface CliMove { pauseMs: number; timeline: { phases: { phase: string; ms: number; inPause: boolean }[] } }

async function cliMove(cfgPath: string, direction: 'switchover' | 'rollback', db: string, extra: string[] = []): Promise<CliMove> {
  const r = await runCli(['-c', cfgPath, '--json', '--yes', direction, db, ...extra], { env: pair.env(), timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`${direction} failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CliMove;
}

const inPausePhases = (m: CliMove): Record<string, number> =>
  Object.fromEntries(m.timeline.phases.filter((p) => p.inPause).map((p) => [p.phase, r1(p.ms)]));

const moves: Move[] = [];
let bouncer: EmbeddedPgBouncer | undefined;
try {
  // --- pgshift through PgBouncer, N round trips on one database ---
  const db = await pair.freshDatabase('bench_pgb');
  const baseDbs: string[] = [];
  for (let i = 0; i < ROUNDS; i++) baseDbs.push(await pair.freshDatabase('bench_base'));
  for (const d of [db, ...baseDbs]) await pgbenchDatabase(pair, d);
  bouncer = await EmbeddedPgBouncer.start({
    databases: Object.fromEntries([db, ...baseDbs].map((d) => [d, { host: pair.source.host, port: pair.source.port, dbname: d }])),
    users: { postgres: pair.source.password },
  });
  const cfgPath = await pair.writeConfig([db, ...baseDbs], bouncerYaml(bouncer.port, bouncer.adminPassword, bouncer.configFile));
  const config = loadConfig(cfgPath, pair.env());
  cfgPathGlobal = cfgPath;
  for (const d of [db, ...baseDbs]) await startAndWait(config, d, pair.target);
  const viaBouncer = (d: string) => ({ host: '127.0.0.1', port: bouncer!.port, user: 'postgres', dbname: d });

  // --- the hand-run baseline, same load, same safety wait (one way: a database per round) ---
  const baselineRound = async (i: number, d: string): Promise<void> => {
    const cfg = config.switchover.pgbouncer!;
    const consoleConn = await BouncerConsole.open(cfg);
    const src: Db = await connect('source', config.source, { database: d });
    const tgt: Db = await connect('target', config.target, { database: d });
    await Promise.all([src.query('SET synchronous_commit = on'), tgt.query('SET synchronous_commit = on')]);
    const seqPlan = await planSequences(src, tgt);
    const sub = namesFor(d).subscription;
    // Prepared as pgshift prepares: the statements the pause runs, once now.
    await tgt.query(sqlFile('subscription-received'), [sub]);
    for (const c of seqPlan.chunks) await src.query(c.readSql);
    try {
      const run = await underLoad(viaBouncer(d), pair.source.password, 'source', async () => {
        const t: Record<string, number> = {};
        const t0 = performance.now();
        let at = t0;
        const lap = (name: string): void => {
          const now = performance.now();
          t[name] = r1(now - at);
          at = now;
        };
        // The same guard as pgshift's (pause.ts): a server login PAUSE cut off would make
        // PgBouncer refuse server connections for server_login_retry (15 s) after RESUME.
        while ((await consoleConn.serverLogins(d)) > 0) await new Promise((r) => setTimeout(r, 1));
        await consoleConn.command(`PAUSE ${d}`);
        lap('pause');
        const mark = await markPosition(src);
        while (true) {
          const row = await tgt.maybeOne<{ received_lsn: string | null }>(sqlFile('subscription-received'), [sub]);
          if (row?.received_lsn && lsnGte(row.received_lsn, mark)) break;
          await new Promise((r) => setTimeout(r, 1));
        }
        await tgt.query('SELECT pg_catalog.txid_current()');
        lap('catch-up');
        await applySequences(src, tgt, seqPlan);
        lap('sequences');
        repointConfigFile(cfg.config!, d, entryFor(config.target.conn, d));
        await consoleConn.command('RELOAD');
        await consoleConn.command(`RESUME ${d}`);
        lap('resume');
        return { pauseMs: performance.now() - t0, phases: t };
      });
      const onTarget = await ledgerCount('target', d);
      moves.push({
        scenario: 'baseline', round: i + 1, direction: 'switchover', pauseMs: r1(run.result.pauseMs), phases: run.result.phases, stallMs: r1(run.stallMs), commandStallMs: r1(run.commandStallMs), runMaxMs: r1(run.runMaxMs), load: run.load,
        processed: run.processed, failed: run.failed, abortedClients: run.aborted, underLoad: run.underLoad,
        ledger: `${onTarget.n === run.processed ? 'ok' : 'MISMATCH'}: ${run.processed} acknowledged, ${onTarget.n} on the target`,
      });
      console.error(`baseline round ${i + 1}: pause ${r1(run.result.pauseMs)} ms, longest txn ${r1(run.stallMs)} ms, failed ${run.failed}, load ${run.load.join(' ')}`);
      if (run.stallMs > 1000) console.error(`PgBouncer log (a client waited ${r1(run.stallMs)} ms):\n${bouncer!.log().split('\n').slice(-20).join('\n')}`);
    } finally {
      await Promise.all([consoleConn.close(), src.close(), tgt.close()]);
    }
  };

  // --- pgshift through PgBouncer, N round trips on one database, a baseline round after each ---
  let acked = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const direction of values['baseline-only'] ? [] : ['switchover', 'rollback'] as const) {
      const primary = direction === 'switchover' ? 'target' : 'source';
      const other = direction === 'switchover' ? 'source' : 'target';
      const run = await underLoad(viaBouncer(db), pair.source.password, direction === 'switchover' ? 'source' : 'target', () => cliMove(cfgPath, direction, db));
      acked += run.processed;
      // Every transaction pgbench counted, exactly once, on the side taking writes now...
      const p = await ledgerCount(primary, db);
      const ledgerOk = p.n === acked && p.ids === p.n;
      // ...and replication (now running the other way) carries it to the other side.
      await waitFor(async () => (await ledgerCount(other, db)).n === p.n, { timeoutMs: 60_000, what: `the ${other} to have the ${primary}'s ledger` }).catch(() => undefined);
      const o = await ledgerCount(other, db);
      moves.push({
        scenario: 'pgbouncer', round, direction, pauseMs: r1(run.result.pauseMs), phases: inPausePhases(run.result), stallMs: r1(run.stallMs), commandStallMs: r1(run.commandStallMs), runMaxMs: r1(run.runMaxMs), load: run.load,
        processed: run.processed, failed: run.failed, abortedClients: run.aborted, underLoad: run.underLoad,
        ledger: `${ledgerOk && o.n === p.n ? 'ok' : 'MISMATCH'}: ${acked} acknowledged, ${p.n} on the ${primary} (${p.ids} distinct), ${o.n} on the ${other}`,
      });
      console.error(`pgshift ${direction} round ${round}: pause ${r1(run.result.pauseMs)} ms, longest txn ${r1(run.stallMs)} ms, failed ${run.failed}, load ${run.load.join(' ')}, ledger ${moves.at(-1)!.ledger}`);
    }
    await baselineRound(round - 1, baseDbs[round - 1]!);
  }
  await bouncer.stop();
  bouncer = undefined;

  // --- revoke: straight to the servers, sessions cut off by design; the pause only ---
  if (!values['no-revoke']) {
    const rdb = await pair.freshDatabase('bench_revoke');
    await pgbenchDatabase(pair, rdb);
    for (const c of [pair.source, pair.target]) {
      await c.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench') THEN CREATE ROLE bench LOGIN PASSWORD 'bench'; END IF; END $$");
      await c.sql('GRANT ALL ON ALL TABLES IN SCHEMA public TO bench; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO bench', [], rdb);
    }
    const rcfg = await pair.writeConfig([rdb], 'switchover:\n  pause: revoke\n  max_pause: 5s\n');
    await startAndWait(loadConfig(rcfg, pair.env()), rdb, pair.target);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const direction of ['switchover', 'rollback'] as const) {
        const side = direction === 'switchover' ? pair.source : pair.target;
        const run = await underLoad({ host: side.host, port: side.port, user: 'bench', dbname: rdb }, 'bench', direction === 'switchover' ? 'source' : 'target', () => cliMove(rcfg, direction, rdb));
        moves.push({
          scenario: 'revoke', round, direction, pauseMs: r1(run.result.pauseMs), phases: inPausePhases(run.result), stallMs: r1(run.stallMs), commandStallMs: r1(run.commandStallMs), runMaxMs: r1(run.runMaxMs), load: run.load,
          processed: run.processed, failed: run.failed, abortedClients: run.aborted, underLoad: run.underLoad,
        });
        console.error(`revoke ${direction} round ${round}: pause ${r1(run.result.pauseMs)} ms`);
      }
    }
  }
} finally {
  await bouncer?.stop();
  await pair.stop();
}

// --- report ---
console.log(`\npgshift switchover benchmark: pgbench TPC-B + ledger, ${CLIENTS} clients, ${DURATION} s per move, PostgreSQL ${FROM} -> ${TO}, ${ROUNDS} round trip(s), ${os.cpus().length} CPUs`);
console.log('longest txn: the longest client transaction that overlapped the write pause (pause to end of resume), then the longest that overlapped the whole command (its start-up, checks and the work after the resume), then of the whole pgbench run; load: 1/5/15-minute load averages when the move started');
console.log('\nscenario   round direction    pause ms  longest txn ms (pause/command/run)          load  processed  failed  aborted  in-pause phases (ms)');
for (const m of moves) {
  console.log(`${m.scenario.padEnd(10)} ${String(m.round).padStart(5)} ${m.direction.padEnd(11)} ${String(m.pauseMs).padStart(9)} ${`${m.stallMs} / ${m.commandStallMs} / ${m.runMaxMs}`.padStart(34)} ${m.load.map((x) => x.toFixed(1)).join('/').padStart(13)} ${String(m.processed).padStart(10)} ${String(m.failed).padStart(7)} ${String(m.abortedClients).padStart(8)}  ${Object.entries(m.phases).map(([k, v]) => `${k} ${v}`).join(', ')}${m.underLoad ? '' : '  [load ended before the move did]'}`);
  if (m.ledger) console.log(`${''.padEnd(28)}ledger ${m.ledger}`);
}
const pick = (scenario: Move['scenario'], direction?: Move['direction']): Move[] => moves.filter((m) => m.scenario === scenario && (!direction || m.direction === direction));
/** Median of each in-pause phase over a set of moves. */
const phaseMedians = (set: Move[]): Record<string, number> => {
  const names = [...new Set(set.flatMap((m) => Object.keys(m.phases)))];
  return Object.fromEntries(names.map((n) => [n, r1(median(set.map((m) => m.phases[n]).filter((v): v is number => v !== undefined)))]));
};
const summary: Record<string, unknown> = {};
console.log('');
for (const [label, set] of [
  ['pgshift switchover (pgbouncer)', pick('pgbouncer', 'switchover')],
  ['pgshift rollback   (pgbouncer)', pick('pgbouncer', 'rollback')],
  ['hand-run baseline  (pgbouncer)', pick('baseline')],
  ['pgshift switchover (revoke)   ', pick('revoke', 'switchover')],
  ['pgshift rollback   (revoke)   ', pick('revoke', 'rollback')],
] as const) {
  if (set.length === 0) continue;
  const pauses = set.map((m) => m.pauseMs);
  const stalls = set.map((m) => m.stallMs);
  const commandStalls = set.map((m) => m.commandStallMs);
  const s = {
    n: set.length, pauseP50: r1(median(pauses)), pauseMax: r1(Math.max(...pauses)), stallP50: r1(median(stalls)), stallMax: r1(Math.max(...stalls)),
    commandStallP50: r1(median(commandStalls)), commandStallMax: r1(Math.max(...commandStalls)),
    failed: set.reduce((a, m) => a + m.failed, 0), load1P50: r1(median(set.map((m) => m.load[0]))), phases: phaseMedians(set),
  };
  summary[label.trim()] = s;
  console.log(`${label}  pause p50 ${s.pauseP50} ms, max ${s.pauseMax} ms; longest transaction over the pause p50 ${s.stallP50} ms, max ${s.stallMax} ms (over the whole command p50 ${s.commandStallP50}, max ${s.commandStallMax}); failed ${s.failed}; load (1 min) p50 ${s.load1P50}`);
  console.log(`${''.padEnd(32)}phase medians: ${Object.entries(s.phases).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
const base = median(pick('baseline').map((m) => m.pauseMs));
const baseStall = median(pick('baseline').map((m) => m.stallMs));
const ours = median(pick('pgbouncer').map((m) => m.pauseMs));
console.log(`\npgshift pause / hand-run baseline pause (p50, both directions): ${r1(ours)} / ${r1(base)} = ${(ours / base).toFixed(2)}x`);
for (const d of ['switchover', 'rollback'] as const) {
  const set = pick('pgbouncer', d);
  if (set.length) console.log(`  ${d}: pause ${r1(median(set.map((m) => m.pauseMs)))} / ${r1(base)} = ${(median(set.map((m) => m.pauseMs)) / base).toFixed(2)}x; longest transaction ${r1(median(set.map((m) => m.stallMs)))} / ${r1(baseStall)} = ${(median(set.map((m) => m.stallMs)) / baseStall).toFixed(2)}x`);
}
const ledgerOk = pick('pgbouncer').every((m) => m.ledger?.startsWith('ok')) && pick('baseline').every((m) => m.ledger?.startsWith('ok'));
console.log(`ledger: ${ledgerOk ? 'every acknowledged write present exactly once on the final primary' : 'MISMATCH (see above)'}`);
// Issue 14's targets, judged on the medians (the machine is shared and noisy).
const targets: [string, boolean][] = [];
for (const d of ['switchover', 'rollback'] as const) {
  const set = pick('pgbouncer', d);
  if (!set.length) continue;
  targets.push([`pgbouncer ${d} pause p50 <= 100 ms (${r1(median(set.map((m) => m.pauseMs)))})`, median(set.map((m) => m.pauseMs)) <= 100]);
  targets.push([`pgbouncer ${d} longest client transaction p50 <= 150 ms (${r1(median(set.map((m) => m.stallMs)))})`, median(set.map((m) => m.stallMs)) <= 150]);
}
for (const d of ['switchover', 'rollback'] as const) {
  const set = pick('revoke', d);
  if (set.length) targets.push([`revoke ${d} pause p50 <= 200 ms (${r1(median(set.map((m) => m.pauseMs)))})`, median(set.map((m) => m.pauseMs)) <= 200]);
}
const throughBouncer = [...pick('pgbouncer'), ...pick('baseline')];
targets.push([`zero failed transactions through PgBouncer (${throughBouncer.reduce((a, m) => a + m.failed, 0)} failed, ${throughBouncer.reduce((a, m) => a + m.abortedClients, 0)} clients aborted)`, throughBouncer.every((m) => m.failed === 0 && m.abortedClients === 0)]);
targets.push(['every acknowledged write on the final primary (ledger)', ledgerOk]);
console.log('\ntargets (issue 14):');
for (const [what, met] of targets) console.log(`  ${met ? 'met    ' : 'NOT met'}  ${what}`);
const allUnderLoad = moves.every((m) => m.underLoad);
if (!allUnderLoad) console.log('warning: some moves finished after the load ended (raise --duration)');
console.log('\n' + JSON.stringify({ from: FROM, to: TO, rounds: ROUNDS, summary, ratio: r1(ours / base), ledgerOk, targets: Object.fromEntries(targets), moves }));
