// Full-verification benchmark: a pgbench database (scale 50 by default,
// about 750 MB) on two embedded clusters of different majors, identical on
// both sides (pgbench -i generates the same rows on each), and then, timed:
//   anchor   COPY (SELECT * FROM t) TO STDOUT for every table, both sides at
//            once, the bytes streamed to nowhere: what it costs just to read
//            and render every row on both servers;
//   verify   "pgshift verify DB --mode full", the real CLI as a child process,
//            whose peak RSS (VmHWM) is sampled while it runs.
// Two rounds each, alternating, to level caches; the best of each is compared.
// Prints the times, the ratio (target <= 1.5x) and the peak RSS (< 200 MB).
//   node dist/bench/verify.js [--scale 50] [--jobs 2] [--from 14 --to 17]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { to as copyTo } from 'pg-copy-streams';
import type { EmbeddedCluster } from '../src/embedded/cluster.js';
import { qualify } from '../src/pg/quote.js';
import { findTool, runTool } from '../src/pg/tools.js';
import { formatBytes, formatDuration } from '../src/util/duration.js';
import { BIN, Pair } from '../test/helpers/harness.js';

const { values } = parseArgs({ options: {
  scale: { type: 'string', default: '50' },
  jobs: { type: 'string', default: '2' },
  from: { type: 'string', default: '14' },
  to: { type: 'string', default: '17' },
} });
const SCALE = Number(values.scale);
const JOBS = Number(values.jobs);
const TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history'];

/** Every table COPY'd out of one cluster, one after another, into a sink. */
async function copyAll(c: EmbeddedCluster, db: string): Promise<number> {
  const client = await c.client(db);
  let bytes = 0;
  try {
    for (const t of TABLES) {
      const sink = new Writable({ write(chunk: Buffer, _enc, cb) { bytes += chunk.length; cb(); } });
      await pipeline(client.query(copyTo(`COPY (SELECT * FROM ${qualify('public', t)}) TO STDOUT`)), sink);
    }
  } finally {
    await client.end();
  }
  return bytes;
}

async function anchor(pair: Pair, db: string): Promise<{ ms: number; bytes: number }> {
  const t0 = Date.now();
  const [a, b] = await Promise.all([copyAll(pair.source, db), copyAll(pair.target, db)]);
  return { ms: Date.now() - t0, bytes: a + b };
}

function vmHwm(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function verify(pair: Pair, config: string, db: string): Promise<{ ms: number; peakRss: number; code: number | null; out: string }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, '-c', config, '--json', 'verify', db, '--mode', 'full', '--jobs', String(JOBS)], {
    env: { ...process.env, ...pair.env() }, stdio: ['ignore', 'pipe', 'ignore'],
  });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, vmHwm(child.pid!))), 50);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  return { ms: Date.now() - t0, peakRss, code, out };
}

async function main(): Promise<void> {
  const pair = await Pair.start(Number(values.from), Number(values.to));
  try {
    const db = await pair.freshDatabase('bench');
    await pair.target.createDatabase(db);
    const pgbench = await findTool('pgbench');
    const t0 = Date.now();
    // pgbench -i writes the same rows every time, so both sides end up identical.
    await Promise.all([pair.source, pair.target].map((c) =>
      runTool(pgbench, ['-i', '-q', '-s', String(SCALE)], { ...c.params(db) }, c.password)));
    await Promise.all([pair.source, pair.target].map((c) => c.sql('VACUUM ANALYZE', [], db)));
    const size = await pair.source.sql<{ b: string }>('SELECT pg_database_size(current_database())::int8 AS b', [], db);
    process.stderr.write(`pgbench -i -s ${SCALE} on ${pair.source.major} and ${pair.target.major}: ${formatBytes(Number(size[0]!.b))} each, in ${formatDuration(Date.now() - t0)}\n`);
    const config = await pair.writeConfig([db]);

    const anchors: number[] = [];
    const verifies: number[] = [];
    let peakRss = 0;
    let copied = 0;
    for (let round = 1; round <= 2; round++) {
      const a = await anchor(pair, db);
      anchors.push(a.ms);
      copied = a.bytes;
      process.stderr.write(`round ${round}: anchor (COPY both sides at once) ${formatDuration(a.ms)}, ${formatBytes(a.bytes)} streamed\n`);
      const v = await verify(pair, config, db);
      if (v.code !== 0) throw new Error(`verify exited ${v.code}: ${v.out.slice(0, 2000)}`);
      verifies.push(v.ms);
      peakRss = Math.max(peakRss, v.peakRss);
      process.stderr.write(`round ${round}: pgshift verify --mode full --jobs ${JOBS} ${formatDuration(v.ms)}, peak RSS ${formatBytes(v.peakRss)}\n`);
    }
    const best = { anchorMs: Math.min(...anchors), verifyMs: Math.min(...verifies) };
    const ratio = best.verifyMs / best.anchorMs;
    const figures = {
      scale: SCALE, jobs: JOBS, from: pair.source.major, to: pair.target.major, databaseBytes: Number(size[0]!.b), copiedBytes: copied,
      anchorMs: anchors, verifyMs: verifies, bestAnchorMs: best.anchorMs, bestVerifyMs: best.verifyMs,
      ratio: Number(ratio.toFixed(2)), peakRssMb: Math.round(peakRss / 1048576),
      targets: { maxRatio: 1.5, maxRssMb: 200 },
      met: { ratio: ratio <= 1.5, rss: peakRss < 200 * 1048576 },
    };
    process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
    process.stderr.write(`verify/anchor = ${ratio.toFixed(2)}x (target <= 1.5x), pgshift peak RSS ${formatBytes(peakRss)} (target < 200 MB)\n`);
  } finally {
    await pair.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
