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
// Then the revoke method (no PgBouncer; clients are cut off by design): one
// switchover and one rollback, pause only.
//   node dist/bench/switchover.js [--from 14 --to 18] [--rounds 3] [--duration 12] [--no-revoke]
// BENCH_DEBUG=1 prints, every second of each load, the sessions of the
// database on both sides and PgBouncer's pool (where a long stall comes from);
// --baseline-only skips pgshift's rounds.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
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
  stallMs: number;
  processed: number;
  failed: number;
  abortedClients: number;
  /** The move finished while pgbench was still running (it ran under load). */
  underLoad: boolean;
  ledger?: string;
}

let logSeq = 0;
let cfgPathGlobal: string | undefined;

function maxLatencyMs(dir: string, prefix: string): number {
  let max = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(`${prefix}.`))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && us > max) max = us;
    }
  }
  return max / 1000;
}

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
async function underLoad<T>(conn: { host: string; port: number; user: string; dbname: string }, password: string, loadSide: 'source' | 'target', move: () => Promise<T>): Promise<{ result: T; processed: number; failed: number; aborted: number; stallMs: number; underLoad: boolean; out: string }> {
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
  const result = await move();
  const moved = !finished;
  const res = await bench;
  clearInterval(debug);
  const out = res.stdout + res.stderr;
  const s = parsePgbench(out);
  return { result, processed: s.processed, failed: s.failed, aborted: (out.match(/client \d+ aborted/g) ?? []).length, stallMs: maxLatencyMs(pair.dir, prefix), underLoad: moved, out };
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

  let acked = 0;
  for (let round = 1; round <= (values['baseline-only'] ? 0 : ROUNDS); round++) {
    for (const direction of ['switchover', 'rollback'] as const) {
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
        scenario: 'pgbouncer', round, direction, pauseMs: r1(run.result.pauseMs), phases: inPausePhases(run.result), stallMs: r1(run.stallMs),
        processed: run.processed, failed: run.failed, abortedClients: run.aborted, underLoad: run.underLoad,
        ledger: `${ledgerOk && o.n === p.n ? 'ok' : 'MISMATCH'}: ${acked} acknowledged, ${p.n} on the ${primary} (${p.ids} distinct), ${o.n} on the ${other}`,
      });
      console.error(`pgshift ${direction} round ${round}: pause ${r1(run.result.pauseMs)} ms, stall ${r1(run.stallMs)} ms, failed ${run.failed}, ledger ${moves.at(-1)!.ledger}`);
    }
  }

  // --- the hand-run baseline, same load, same safety wait (one way: a database per round) ---
  for (const [i, d] of baseDbs.entries()) {
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
        scenario: 'baseline', round: i + 1, direction: 'switchover', pauseMs: r1(run.result.pauseMs), phases: run.result.phases, stallMs: r1(run.stallMs),
        processed: run.processed, failed: run.failed, abortedClients: run.aborted, underLoad: run.underLoad,
        ledger: `${onTarget.n === run.processed ? 'ok' : 'MISMATCH'}: ${run.processed} acknowledged, ${onTarget.n} on the target`,
      });
      console.error(`baseline round ${i + 1}: pause ${r1(run.result.pauseMs)} ms, stall ${r1(run.stallMs)} ms, failed ${run.failed}`);
      if (run.stallMs > 1000) console.error(`PgBouncer log (a client waited ${r1(run.stallMs)} ms):\n${bouncer.log().split('\n').slice(-20).join('\n')}`);
    } finally {
      await Promise.all([consoleConn.close(), src.close(), tgt.close()]);
    }
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
          scenario: 'revoke', round, direction, pauseMs: r1(run.result.pauseMs), phases: inPausePhases(run.result), stallMs: r1(run.stallMs),
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
const os = await import('node:os');
console.log(`\npgshift switchover benchmark: pgbench TPC-B + ledger, ${CLIENTS} clients, ${DURATION} s per move, PostgreSQL ${FROM} -> ${TO}, ${ROUNDS} round trip(s), ${os.cpus().length} CPUs`);
console.log('\nscenario   round direction    pause ms  longest txn ms  processed  failed  aborted  in-pause phases (ms)');
for (const m of moves) {
  console.log(`${m.scenario.padEnd(10)} ${String(m.round).padStart(5)} ${m.direction.padEnd(11)} ${String(m.pauseMs).padStart(9)} ${String(m.stallMs).padStart(15)} ${String(m.processed).padStart(10)} ${String(m.failed).padStart(7)} ${String(m.abortedClients).padStart(8)}  ${Object.entries(m.phases).map(([k, v]) => `${k} ${v}`).join(', ')}${m.underLoad ? '' : '  [load ended before the move did]'}`);
  if (m.ledger) console.log(`${''.padEnd(28)}ledger ${m.ledger}`);
}
const pick = (scenario: Move['scenario'], direction?: Move['direction']): Move[] => moves.filter((m) => m.scenario === scenario && (!direction || m.direction === direction));
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
  const s = { n: set.length, pauseP50: r1(median(pauses)), pauseMax: r1(Math.max(...pauses)), stallP50: r1(median(stalls)), stallMax: r1(Math.max(...stalls)), failed: set.reduce((a, m) => a + m.failed, 0) };
  summary[label.trim()] = s;
  console.log(`${label}  pause p50 ${s.pauseP50} ms, max ${s.pauseMax} ms; longest transaction p50 ${s.stallP50} ms, max ${s.stallMax} ms; failed ${s.failed}`);
}
const base = median(pick('baseline').map((m) => m.pauseMs));
const ours = median(pick('pgbouncer').map((m) => m.pauseMs));
console.log(`\npgshift pause / hand-run baseline pause (p50, both directions): ${r1(ours)} / ${r1(base)} = ${(ours / base).toFixed(2)}x`);
const ledgerOk = pick('pgbouncer').every((m) => m.ledger?.startsWith('ok')) && pick('baseline').every((m) => m.ledger?.startsWith('ok'));
console.log(`ledger: ${ledgerOk ? 'every acknowledged write present exactly once on the final primary' : 'MISMATCH (see above)'}`);
const allUnderLoad = moves.every((m) => m.underLoad);
if (!allUnderLoad) console.log('warning: some moves finished after the load ended (raise --duration)');
console.log('\n' + JSON.stringify({ from: FROM, to: TO, rounds: ROUNDS, summary, ratio: r1(ours / base), ledgerOk, moves }));
