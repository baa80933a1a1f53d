// Kill-run stress (issue 11, finding 11): pgshift SIGKILLed at a point of
// start, then run again, while clients write to the source, over and over.
// Per iteration: a database with the fixture schema (200 rows a table) and
// three insert-only ledger tables; the fixture load (test/helpers) and ledger
// clients write the whole time; `run` (or `start`) killed at the point, then
// run again; the writes stop; the test's own catch-up wait; then every table
// compared row by row, naming the rows only one side has, and the target's
// log searched for "did not find row" (an UPDATE or DELETE whose row the
// target lacked: a loss the fixture's random DELETEs could later hide).
// Lanes run side by side on one pair of clusters, which also loads the
// machine the way a CI run does.
//   node dist/bench/kill-run-stress.js [--minutes 30] [--iterations N] [--lanes 2]
//     [--clients 3] [--ledger-clients 2] [--rows 200] [--from 13 --to 17]
//     [--points after:start-identity,after:start-publication,after:start-subscription,none]
//     [--steps run|start] [--chaos [--chaos-terminate]] [--setting k=v ...] [--sabotage]
// "none" is a run that is not killed (the control). It stops at the first
// difference and prints what explains it (the rows, their xmin and commit
// time on the source, pg_subscription_rel, the slots, the servers' lines about
// slots and workers) and copies both server logs to --out.
// Opt-in, not part of npm test: it runs for as long as it is told to.
// Build it into its own outDir when it runs long (a rebuild of dist/ under a
// running stress breaks the CLI it spawns).
import { parseArgs } from 'node:util';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pair, runCli, startCli, tableRows, waitFor } from '../test/helpers/harness.js';
import { createFixtureSchema, fillFixture, FIXTURE_TABLES } from '../test/helpers/fixture-schema.js';
import { objectCounts, startLoad, waitForCatchUp } from '../test/helpers/replication-scenario.js';
import { quoteIdent } from '../src/pg/quote.js';
import { namesFor } from '../src/replication/names.js';
import type { EmbeddedCluster } from '../src/embedded/cluster.js';

const { values } = parseArgs({ options: {
  minutes: { type: 'string', default: '30' },
  iterations: { type: 'string', default: '1000000' },
  lanes: { type: 'string', default: '2' },
  clients: { type: 'string', default: '3' },
  'ledger-clients': { type: 'string', default: '2' },
  rows: { type: 'string', default: '200' },
  from: { type: 'string', default: '13' },
  to: { type: 'string', default: '17' },
  // Proves the checks can fail: deletes rows on the target behind the apply worker's back.
  sabotage: { type: 'boolean', default: false },
  // Widen race windows: while the tables sync, stop (SIGSTOP) one of this
  // subscription's workers or walsenders at random for a few hundred ms.
  chaos: { type: 'boolean', default: false },
  // With --chaos, also terminate (pg_terminate_backend) a worker or walsender
  // now and then: the restart paths of the table synchronization.
  'chaos-terminate': { type: 'boolean', default: false },
  // "run" (check, roles, schema, start, wait: the kill-run test's path) or
  // "start" (databases copied from templates, then only start, killed and run
  // again; several times more iterations an hour on the same replication path).
  steps: { type: 'string', default: 'run' },
  // Extra server settings for both clusters, e.g. --setting wal_sender_timeout=2s (repeatable).
  setting: { type: 'string', multiple: true, default: [] },
  out: { type: 'string', default: join(tmpdir(), 'kill-run-stress') },
  points: { type: 'string', default: 'after:start-identity,after:start-publication,after:start-subscription,none' },
} });
const DEADLINE = Date.now() + Number(values.minutes) * 60_000;
const MAX_ITERATIONS = Number(values.iterations);
const LANES = Number(values.lanes);
const CLIENTS = Number(values.clients);
const LEDGER_CLIENTS = Number(values['ledger-clients']);
const ROWS = Number(values.rows);
const OUT = values.out;
const POINTS = values.points.split(',').map((p) => p.trim()).filter(Boolean);

// Insert-only tables written by their own clients, several per transaction:
// a lost insert there stays lost (in the fixture tables a later random DELETE
// on the source can hide it), so every loss shows in the final comparison.
const LEDGERS = ['l1', 'l2', 'l3'];
const LEDGER_TABLES = LEDGERS.map((name) => ({ schema: 'stress', name }));

async function createLedgers(pair: Pair, db: string): Promise<void> {
  await pair.source.sql('CREATE SCHEMA stress', [], db);
  for (const l of LEDGERS) {
    await pair.source.sql(`CREATE TABLE stress.${l} (id bigserial PRIMARY KEY, client int NOT NULL, k int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`, [], db);
  }
}

/** Clients inserting into one to three ledgers per transaction until stopped. */
function ledgerLoad(pair: Pair, db: string, clients: number): { stop(): Promise<number> } {
  let stopping = false;
  let committed = 0;
  const loops = Array.from({ length: clients }, async (_, client) => {
    const c = await pair.source.client(db);
    try {
      for (let k = 0; !stopping; k++) {
        await c.query('BEGIN');
        await c.query('INSERT INTO stress.l1 (client, k) VALUES ($1, $2)', [client, k]);
        if (k % 2 === 0) await c.query('INSERT INTO stress.l2 (client, k) VALUES ($1, $2)', [client, k]);
        if (k % 3 === 0) await c.query('INSERT INTO stress.l3 (client, k) VALUES ($1, $2)', [client, k]);
        await c.query('COMMIT');
        committed++;
      }
    } finally {
      await c.end();
    }
  });
  // Held until stop(): a client that fails must fail the iteration, not crash the process unhandled.
  const settled = Promise.allSettled(loops);
  return {
    async stop() {
      stopping = true;
      for (const r of await settled) if (r.status === 'rejected') throw r.reason;
      return committed;
    },
  };
}

interface Difference {
  table: string;
  source: number;
  target: number;
  onlySource: string[];
  onlyTarget: string[];
}

async function differences(pair: Pair, db: string): Promise<Difference[]> {
  const out: Difference[] = [];
  for (const t of [...FIXTURE_TABLES, ...LEDGER_TABLES]) {
    const [a, b] = await Promise.all([tableRows(pair.source, db, t.schema, t.name), tableRows(pair.target, db, t.schema, t.name)]);
    const sa = new Set(a);
    const sb = new Set(b);
    const onlySource = a.filter((r) => !sb.has(r));
    const onlyTarget = b.filter((r) => !sa.has(r));
    if (onlySource.length > 0 || onlyTarget.length > 0 || a.length !== b.length) {
      out.push({ table: `${t.schema}.${t.name}`, source: a.length, target: b.length, onlySource, onlyTarget });
    }
  }
  return out;
}

function logLines(c: EmbeddedCluster, pattern: RegExp): string[] {
  try {
    return readFileSync(c.logFile, 'utf8').split('\n').filter((l) => pattern.test(l));
  } catch {
    return [];
  }
}

/**
 * The target's "did not find row" lines of this subscription's workers. A
 * background worker's log line names no database, so each line is matched to
 * its worker by pid, from the worker's own "has started" line.
 */
function missedRows(target: EmbeddedCluster, subscription: string): string[] {
  const owner = new Map<string, string>();
  const out: string[] = [];
  for (const l of logLines(target, /has started|did not find row/)) {
    const pid = /\[(\d+)\]/.exec(l)?.[1] ?? '';
    const started = /worker for subscription "([^"]+)"/.exec(l);
    if (started && /has started/.test(l)) owner.set(pid, started[1]!);
    else if (/did not find row/.test(l) && owner.get(pid) === subscription) out.push(l);
  }
  return out;
}

async function explain(pair: Pair, db: string, diffs: Difference[]): Promise<void> {
  console.log(JSON.stringify(diffs.map((d) => ({ ...d, onlySource: d.onlySource.slice(0, 20), onlyTarget: d.onlyTarget.slice(0, 20) })), null, 2));
  for (const d of diffs) {
    const [schema, name] = [d.table.slice(0, d.table.indexOf('.')), d.table.slice(d.table.indexOf('.') + 1)];
    const rows = await pair.source.sql<{ xmin: string; ts: string | null; r: string }>(
      `SELECT t.xmin::text AS xmin, pg_xact_commit_timestamp(t.xmin)::text AS ts, t::text AS r FROM ${quoteIdent(schema)}.${quoteIdent(name)} t`, [], db);
    const wanted = new Set(d.onlySource);
    console.log(`source rows of ${d.table} missing on the target (xmin, commit time):`);
    for (const r of rows.filter((x) => wanted.has(x.r))) console.log(`  ${r.xmin} ${r.ts} ${r.r}`);
  }
  const rel = await pair.target.sql(
    `SELECT sr.srrelid::regclass::text AS rel, sr.srsubstate, sr.srsublsn::text FROM pg_subscription_rel sr
       JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1 ORDER BY 1`, [namesFor(db).subscription], db);
  console.log('pg_subscription_rel:', JSON.stringify(rel));
  const slot = await pair.source.sql('SELECT slot_name, restart_lsn::text, confirmed_flush_lsn::text FROM pg_replication_slots WHERE database = $1', [db]);
  console.log('slots:', JSON.stringify(slot));
  const interesting = /consistent point|logical decoding|replication slot|logical replication|tablesync|table synchronization|apply worker|ERROR|FATAL|PANIC/;
  console.log('--- source log'); for (const l of logLines(pair.source, interesting).slice(-200)) console.log(l);
  console.log('--- target log'); for (const l of logLines(pair.target, interesting).slice(-200)) console.log(l);
}

async function notReady(pair: Pair, db: string): Promise<number> {
  const [r] = await pair.target.sql<{ n: string }>(
    `SELECT count(*) AS n FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
      WHERE s.subname = $1 AND sr.srsubstate <> 'r'`, [namesFor(db).subscription], db);
  return Number(r!.n);
}

/** With --steps start: the source database every iteration copies, and its schema on the target. */
let TEMPLATE: string | undefined;

async function makeTemplates(pair: Pair): Promise<void> {
  const db = await pair.freshDatabase('tmpl');
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, ROWS);
  await createLedgers(pair, db);
  const cfg = await pair.writeConfig([db]);
  const r = await runCli(['-c', cfg, '--yes', 'schema', db], { env: pair.env(), timeoutMs: 200_000 });
  if (r.code !== 0) throw new Error(`schema for the template: ${r.stderr}`);
  TEMPLATE = db;
}

/**
 * Until stopped: SIGSTOP a random apply/tablesync worker or walsender of db
 * for 10-400 ms, then SIGCONT (or, with --chaos-terminate, sometimes end it).
 */
function chaos(pair: Pair, db: string): { stop(): Promise<{ pauses: number; terminated: number }> } {
  let stopping = false;
  let pauses = 0;
  let terminated = 0;
  const loop = (async () => {
    const [t, src] = await Promise.all([pair.target.client(), pair.source.client()]);
    try {
      while (!stopping) {
        const onTargetPids = (await t.query<{ pid: number }>('SELECT pid FROM pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL', [namesFor(db).subscription])).rows;
        const targetCount = onTargetPids.length;
        // Not before the subscription's workers run: CREATE SUBSCRIPTION's own slot creation must not be hit.
        if (targetCount === 0) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        const pids = [
          ...onTargetPids,
          ...(await src.query<{ pid: number }>('SELECT active_pid AS pid FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL', [db])).rows,
        ].map((r) => Number(r.pid));
        if (pids.length > 0 && values['chaos-terminate'] && Math.random() < 0.15) {
          const i = Math.floor(Math.random() * pids.length);
          const onTarget = i < targetCount;
          await (onTarget ? t : src).query('SELECT pg_terminate_backend($1)', [pids[i]]);
          terminated++;
        } else if (pids.length > 0) {
          const pid = pids[Math.floor(Math.random() * pids.length)]!;
          try {
            process.kill(pid, 'SIGSTOP');
            pauses++;
            await new Promise((r) => setTimeout(r, 10 + Math.random() * 390));
          } catch {
            // gone meanwhile
          } finally {
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              // gone meanwhile
            }
          }
        }
        await new Promise((r) => setTimeout(r, Math.random() * 50));
      }
    } finally {
      await Promise.all([t.end(), src.end()]);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return { pauses, terminated };
    },
  };
}

const CRASH = /was terminated by signal|terminating any other active server processes|all server processes terminated; reinitializing/;

interface Stats { iterations: number; byPoint: Record<string, number>; failures: number; stuck: number }

/**
 * A table that can never become ready: its tablesync worker was ended after
 * it dropped its slot on the source and before it committed SYNCDONE (that
 * worker drops the slot first, in the transaction that sets SYNCDONE), so
 * every new worker for the table fails with "replication slot ... does not
 * exist". A PostgreSQL hazard (--chaos-terminate hits it), not a lost row.
 */
class StuckSync extends Error {
  constructor(message: string, readonly cfg: string, readonly db: string) {
    super(message);
  }
}

async function stuckSync(pair: Pair, db: string): Promise<string | undefined> {
  const [sub] = await pair.target.sql<{ oid: string }>('SELECT oid::text AS oid FROM pg_subscription WHERE subname = $1', [namesFor(db).subscription]);
  if (!sub) return undefined;
  return logLines(pair.target, /could not start WAL streaming: ERROR: {2}replication slot ".*" does not exist/)
    .find((l) => l.includes(`"pg_${sub.oid}_sync_`));
}

async function iteration(pair: Pair, point: string, stats: Stats): Promise<boolean> {
  const db = await pair.freshDatabase('stress');
  if (TEMPLATE) {
    // freshDatabase made an empty one; the template's copy replaces it.
    await pair.source.dropDatabase(db);
    await pair.source.sql(`CREATE DATABASE ${quoteIdent(db)} TEMPLATE ${quoteIdent(TEMPLATE)}`);
    await pair.target.sql(`CREATE DATABASE ${quoteIdent(db)} TEMPLATE ${quoteIdent(TEMPLATE)}`);
  } else {
    await createFixtureSchema(pair.source, db);
    await fillFixture(pair.source, db, ROWS);
    await createLedgers(pair, db);
  }
  const cfg = await pair.writeConfig([db]);
  const load = await startLoad(pair.source, db, CLIENTS);
  const ledger = ledgerLoad(pair, db, LEDGER_CLIENTS);
  const t0 = Date.now();
  let committed: number;
  let ledgerCommitted: number;
  let shaken = { pauses: 0, terminated: 0 };
  try {
    const cmd = TEMPLATE ? ['-c', cfg, '--yes', 'start', db] : ['-c', cfg, '--yes', 'run', db, '--timeout', '180s'];
    if (point !== 'none') {
      const first = await startCli(cmd, { env: { ...pair.env(), PGSHIFT_FAULT: point }, timeoutMs: 200_000 }).done;
      if (first.signal !== 'SIGKILL') throw new Error(`${db}: ${cmd[3]} was not killed at ${point} (exit ${first.code}):\n${first.stdout}${first.stderr}`);
    }
    const shaker = values.chaos ? chaos(pair, db) : undefined;
    let second;
    try {
      second = await runCli(cmd, { env: pair.env(), timeoutMs: 200_000 });
      if (TEMPLATE && second.code === 0) {
        let polls = 0;
        let stuck: string | undefined;
        await waitFor(async () => {
          if (++polls % 50 === 0) stuck = await stuckSync(pair, db);
          return stuck !== undefined || (await notReady(pair, db)) === 0;
        }, { timeoutMs: 180_000, intervalMs: 100, what: `every table of ${db} ready` });
        if (stuck) throw new StuckSync(`${db}: ${stuck}`, cfg, db);
      }
    } catch (e) {
      const stuck = await stuckSync(pair, db);
      if (stuck) throw new StuckSync(`${db}: ${stuck}`, cfg, db);
      throw e;
    } finally {
      shaken = (await shaker?.stop()) ?? shaken;
    }
    if (second.code !== 0) {
      const stuck = await stuckSync(pair, db);
      if (stuck) throw new StuckSync(`${db}: ${stuck}`, cfg, db);
      throw new Error(`${db}: second ${cmd[3]} exited ${second.code}:\n${second.stderr}`);
    }
    // start does not wait: keep writing a little longer once every table is ready.
    if (TEMPLATE) await new Promise((r) => setTimeout(r, Math.random() * 2000));
    if (values.sabotage) {
      await pair.target.sql('DELETE FROM stress.l1 WHERE id = (SELECT min(id) FROM stress.l1)', [], db);
      await pair.target.sql('DELETE FROM app.orders WHERE id IN (SELECT id FROM app.orders ORDER BY id LIMIT 20)', [], db);
    }
  } finally {
    committed = await load.stop();
    ledgerCommitted = await ledger.stop();
  }
  await waitForCatchUp(pair.source, pair.target, db, 180_000);
  const diffs = await differences(pair, db);
  // The apply worker logs (DEBUG1) an UPDATE or DELETE whose row it did not
  // find: with this load every such row exists on the source, so each line is
  // a change the target missed, even when a later DELETE hid it.
  const missed = missedRows(pair.target, namesFor(db).subscription);
  // A server that crashed and restarted (a backend killed by a signal) is not the scenario under test.
  const crashes = [...logLines(pair.source, CRASH), ...logLines(pair.target, CRASH)];
  if (crashes.length > 0) throw new Error(`a server crashed and restarted:\n${crashes.slice(0, 10).join('\n')}`);
  const counts = await objectCounts(pair.source, pair.target, db);
  stats.iterations++;
  stats.byPoint[point] = (stats.byPoint[point] ?? 0) + 1;
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (diffs.length > 0 || missed.length > 0) {
    stats.failures++;
    console.log(`FAIL ${db} at ${point} after ${secs}s, ${committed} load transactions, ${ledgerCommitted} ledger transactions`);
    for (const l of missed.slice(0, 20)) console.log(`  missed: ${l}`);
    await explain(pair, db, diffs);
    return false;
  }
  if (counts.publications !== 1 || counts.subscriptions !== 1 || counts.slots !== 1) throw new Error(`${db}: object counts ${JSON.stringify(counts)}`);
  console.log(`ok ${db} ${point} ${secs}s ${committed} tx ${ledgerCommitted} ledger tx${values.chaos ? ` ${shaken.pauses} pauses, ${shaken.terminated} terminated` : ''}`);
  const clean = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: pair.env() });
  if (clean.code !== 0) throw new Error(`${db}: cleanup exited ${clean.code}: ${clean.stderr}`);
  await waitFor(async () => {
    try {
      await pair.target.dropDatabase(db);
      await pair.source.dropDatabase(db);
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs: 60_000, what: `drop ${db}` });
  return true;
}

async function main(): Promise<void> {
  const pair = await Pair.start(Number(values.from), Number(values.to), {
    settings: {
      log_min_messages: 'log', track_commit_timestamp: true, log_line_prefix: '%m [%p] %q%u@%d %a ',
      ...Object.fromEntries(values.setting.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
    },
  });
  // DEBUG1 on the target only: the apply worker's "did not find row" lines.
  pair.target.addSettings({ log_min_messages: 'debug1' });
  await pair.target.sql('SELECT pg_reload_conf()');
  if (values.steps === 'start') await makeTemplates(pair);
  else if (values.steps !== 'run') throw new Error('--steps is run or start');
  const stats: Stats = { iterations: 0, byPoint: {}, failures: 0, stuck: 0 };
  const t0 = Date.now();
  let next = 0;
  let failed = false;
  try {
    await Promise.all(Array.from({ length: LANES }, async () => {
      while (!failed && Date.now() < DEADLINE && next < MAX_ITERATIONS) {
        const point = POINTS[next++ % POINTS.length]!;
        try {
          if (!(await iteration(pair, point, stats))) failed = true;
        } catch (e) {
          if (e instanceof StuckSync) {
            stats.stuck++;
            console.log(`STUCK at ${point}: ${e.message}`);
            // Its workers would retry for ever and hold worker slots the other lanes need.
            await runCli(['-c', e.cfg, '--yes', 'cleanup', e.db], { env: pair.env() });
            continue;
          }
          console.log(`ERROR at ${point}: ${(e as Error).stack ?? String(e)}`);
          failed = true;
        }
      }
    }));
  } finally {
    console.log(`${stats.iterations} iterations in ${((Date.now() - t0) / 60_000).toFixed(1)} min, ${stats.failures} with differences, ${stats.stuck} stuck: ${JSON.stringify(stats.byPoint)}`);
    if (failed) {
      // Other test processes sweep the clusters of dead ones: keep the logs, not the clusters.
      mkdirSync(OUT, { recursive: true });
      copyFileSync(pair.source.logFile, join(OUT, 'source.log'));
      copyFileSync(pair.target.logFile, join(OUT, 'target.log'));
      console.log(`server logs copied to ${OUT}`);
    }
    await pair.stop();
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
