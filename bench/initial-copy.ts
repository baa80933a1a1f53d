// Initial-copy benchmark: one pgbench database (scale 100 by default, about
// 1.5 GB) on an embedded source cluster, copied three times into a fresh
// target database on an embedded target cluster of a newer major, each timed
// to "every table ready, every index valid":
//   native   "pgshift schema" + "start" (PostgreSQL's copy_data), until every
//            table of the subscription is ready (srsubstate = 'r');
//   fast     startFastCopy (exported snapshot, parallel COPY, indexes after);
//   ceiling  the machine's ceiling: pre-data schema, binary COPY pipes into
//            index-less tables with the same parallelism, then the index
//            builds; no slot, no publication, no subscription.
// Each method runs once per round (the order rotating), on the same database;
// prints the medians, the ratios (per round, then their median) against the
// targets (fast >= 1.3x faster than native, within 1.10x of the ceiling) and
// pgshift's peak RSS during fast.
//   node dist/bench/initial-copy.js [--scale 100] [--jobs 4] [--rounds 3] [--from 14 --to 17]
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../src/config/config.js';
import { connect, type Db } from '../src/pg/connect.js';
import { listTables } from '../src/pg/catalog.js';
import { quoteIdent } from '../src/pg/quote.js';
import { dumpTools, findTool, runTool } from '../src/pg/tools.js';
import { applySchema } from '../src/steps/schema.js';
import { startReplication } from '../src/steps/start.js';
import { startFastCopy } from '../src/steps/fast-copy.js';
import { namesFor } from '../src/replication/names.js';
import { planCopyTables, partsFor, splitTable, type CopyRange } from '../src/initial-copy/plan.js';
import { copyRanges } from '../src/initial-copy/pipe.js';
import { applyPreData, buildPostData, SchemaArchive } from '../src/initial-copy/schema-sections.js';
import { formatBytes, formatDuration } from '../src/util/duration.js';
import { Pair, waitFor } from '../test/helpers/harness.js';
import { pgshiftPublicationEntries } from '../src/initial-copy/dump-entries.js';

const { values } = parseArgs({ options: {
  scale: { type: 'string', default: '100' },
  jobs: { type: 'string', default: '4' },
  rounds: { type: 'string', default: '3' },
  from: { type: 'string', default: '14' },
  to: { type: 'string', default: '17' },
} });
const SCALE = Number(values.scale);
const JOBS = Number(values.jobs);
const ROUNDS = Math.max(1, Number(values.rounds));
const SPLIT_BYTES = 256 * 1024 * 1024;

async function resetTarget(pair: Pair, db: string): Promise<void> {
  const names = namesFor(db);
  const exists = await pair.target.sql('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
  if (exists.length > 0) {
    await pair.target.sql(`DROP SUBSCRIPTION IF EXISTS ${quoteIdent(names.subscription)}`, [], db);
    await pair.target.dropDatabase(db);
  }
  await pair.source.sql(`DROP PUBLICATION IF EXISTS ${quoteIdent(names.publication)}`, [], db);
  await pair.source.sql('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
  // Start each run with the same dirty-page state on both sides.
  await Promise.all([pair.source.sql('CHECKPOINT'), pair.target.sql('CHECKPOINT')]);
}

async function invalidIndexes(pair: Pair, db: string): Promise<number> {
  const r = await pair.target.sql<{ n: string }>('SELECT count(*) AS n FROM pg_index WHERE NOT indisvalid OR NOT indisready', [], db);
  return Number(r[0]!.n);
}

async function native(pair: Pair, config: Config, db: string): Promise<number> {
  const t0 = Date.now();
  await applySchema(config, db);
  await startReplication(config, db, { copy: 'native' });
  const names = namesFor(db);
  await waitFor(async () => {
    const r = await pair.target.sql<{ total: string; ready: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE sr.srsubstate = 'r') AS ready
         FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1`, [names.subscription], db);
    return Number(r[0]!.total) > 0 && r[0]!.total === r[0]!.ready;
  }, { timeoutMs: 6 * 3_600_000, intervalMs: 200, what: 'native initial copy' });
  const ms = Date.now() - t0;
  if ((await invalidIndexes(pair, db)) !== 0) throw new Error('native: invalid indexes on the target');
  return ms;
}

async function fast(pair: Pair, config: Config, db: string): Promise<{ ms: number; peakRss: number }> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  try {
    const t0 = Date.now();
    await startFastCopy(config, db, {
      jobs: JOBS, splitBytes: SPLIT_BYTES,
      emit: (e) => {
        const at = formatDuration(Date.now() - t0);
        if (e.type === 'phase') process.stderr.write(`  fast ${e.phase} ${e.state} at ${at}${e.message ? `: ${e.message}` : ''}\n`);
        if (e.type === 'info' && e.message.startsWith('built ')) process.stderr.write(`    ${e.message} (at ${at})\n`);
      },
    });
    const ms = Date.now() - t0;
    if ((await invalidIndexes(pair, db)) !== 0) throw new Error('fast: invalid indexes on the target');
    return { ms, peakRss };
  } finally {
    clearInterval(sampler);
  }
}

async function ceiling(pair: Pair, config: Config, db: string): Promise<number> {
  const t0 = Date.now();
  const source = await connect('source', config.source, { database: db });
  await pair.target.createDatabase(db);
  const target = await connect('target', config.target, { database: db });
  const archive = await SchemaArchive.dump(config, db, await dumpTools(source.version.major, target.version.major), await pgshiftPublicationEntries(source));
  const sessions: Db[] = [];
  try {
    await applyPreData(archive, target.version.major);
    const tables = await planCopyTables(source, target, (await listTables(source)).filter((t) => t.relkind === 'r').map((t) => t.oid));
    if (tables.some((t) => t.format !== 'binary')) throw new Error('ceiling: expected every pgbench table to copy in binary');
    for (let i = 0; i < JOBS; i++) {
      const s = await connect('source', config.source, { database: db });
      await s.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      sessions.push(s);
    }
    const ranges: CopyRange[] = [];
    for (const t of tables) ranges.push(...(await splitTable(sessions[0]!, t, partsFor(t.bytes, SPLIT_BYTES, JOBS * 4))));
    await copyRanges({ sources: sessions, target: config.target, database: db, ranges, callbacks: { onBytes: () => undefined, onRangeDone: () => undefined } });
    await buildPostData({ config, database: db, archive, source, target, jobs: JOBS });
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
    archive.remove();
    await target.close();
    await source.close();
  }
  const ms = Date.now() - t0;
  if ((await invalidIndexes(pair, db)) !== 0) throw new Error('ceiling: invalid indexes on the target');
  return ms;
}

async function main(): Promise<void> {
  const pair = await Pair.start(Number(values.from), Number(values.to));
  try {
    // pg_dump, pg_restore and psql are looked up once per process (their --version asked and
    // kept): look them up now, so no timed method pays it and the others get it free.
    await dumpTools(Number(values.from), Number(values.to));
    const db = await pair.freshDatabase('bench');
    const pgbench = await findTool('pgbench');
    const t0 = Date.now();
    await runTool(pgbench, ['-i', '-q', '-s', String(SCALE), '--foreign-keys'], { ...pair.source.params(db) }, pair.source.password);
    const size = await pair.source.sql<{ b: string }>('SELECT pg_database_size(current_database())::int8 AS b', [], db);
    process.stderr.write(`pgbench -i -s ${SCALE} on ${pair.source.major}: ${formatBytes(Number(size[0]!.b))} in ${formatDuration(Date.now() - t0)}\n`);
    const config = loadConfig(await pair.writeConfig([db]), { ...process.env, ...pair.env() });

    // Rounds rotate the order of the three methods, so a machine getting busier or quieter
    // during the run does not favour one of them; each figure is the median of the rounds.
    const methods = {
      native: async () => ({ ms: await native(pair, config, db), peakRss: 0 }),
      fast: () => fast(pair, config, db),
      ceiling: async () => ({ ms: await ceiling(pair, config, db), peakRss: 0 }),
    };
    const names = Object.keys(methods) as (keyof typeof methods)[];
    const rounds: Record<keyof typeof methods, number>[] = [];
    let peakRss = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const round = {} as Record<keyof typeof methods, number>;
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + r) % names.length]!;
        await resetTarget(pair, db);
        const load = os.loadavg()[0]!.toFixed(1);
        const m = await methods[name]();
        round[name] = m.ms;
        peakRss = Math.max(peakRss, m.peakRss);
        process.stderr.write(`round ${r + 1} ${name.padEnd(7)} --jobs ${JOBS}: ${formatDuration(m.ms)} (load ${load})\n`);
      }
      rounds.push(round);
    }
    await resetTarget(pair, db);

    const median = (xs: number[]): number => {
      const v = [...xs].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const nativeMs = median(rounds.map((r) => r.native));
    const fastMs = median(rounds.map((r) => r.fast));
    const ceilingMs = median(rounds.map((r) => r.ceiling));
    // Ratios per round (the three ran minutes apart under the same load), then their median.
    const speedup = median(rounds.map((r) => r.native / r.fast));
    const overCeiling = median(rounds.map((r) => r.fast / r.ceiling));
    const ceilingOverNative = median(rounds.map((r) => r.native / r.ceiling));
    const figures = {
      scale: SCALE, jobs: JOBS, from: pair.source.major, to: pair.target.major, databaseBytes: Number(size[0]!.b), rounds,
      nativeMs, fastMs, ceilingMs,
      fastSpeedupOverNative: Number(speedup.toFixed(2)), fastOverCeiling: Number(overCeiling.toFixed(2)), ceilingSpeedupOverNative: Number(ceilingOverNative.toFixed(2)),
      targets: { speedupOverNative: 1.3, maxOverCeiling: 1.1 },
      met: { speedup: speedup >= 1.3, ceiling: overCeiling <= 1.1 },
      peakRssMb: Math.round(peakRss / 1048576), maxRssMbWholeRun: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    process.stdout.write(`
initial copy, pgbench scale ${SCALE} (${formatBytes(figures.databaseBytes)}), ${figures.from} -> ${figures.to}, --jobs ${JOBS}, medians of ${ROUNDS} round(s)
  native copy_data   ${formatDuration(nativeMs).padStart(8)}
  fast               ${formatDuration(fastMs).padStart(8)}   ${speedup.toFixed(2)}x faster than native (target >= 1.30x) ${figures.met.speedup ? 'MET' : 'MISSED'}
  ceiling            ${formatDuration(ceilingMs).padStart(8)}   fast is ${overCeiling.toFixed(2)}x the ceiling (target <= 1.10x) ${figures.met.ceiling ? 'MET' : 'MISSED'}; the ceiling is ${ceilingOverNative.toFixed(2)}x faster than native
  pgshift peak RSS during fast: ${figures.peakRssMb} MB (whole bench process max RSS ${figures.maxRssMbWholeRun} MB)
${JSON.stringify(figures)}
`);
  } finally {
    await pair.stop();
  }
}

await main();
