// Switchover benchmark: pgbench TPC-B, 8 clients, through PgBouncer, on two
// embedded clusters of different majors; prints the longest transaction
// latency across the switchover (the write stall clients saw), the pause
// window pgshift measured, and failed transactions. Then the same for a
// plain revoke switchover straight to the server (no PgBouncer), where
// clients are cut off by design.
//   node dist/bench/switchover.js [--from 14 --to 17] [--duration 20]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pair, runCli, waitFor } from '../test/helpers/harness.js';
import { EmbeddedPgBouncer } from '../src/embedded/pgbouncer.js';
import { loadConfig } from '../src/config/config.js';
import { bouncerYaml, parsePgbench, pgbench, pgbenchDatabase, startAndWait } from '../test/helpers/switchover-fixture.js';

const { values } = parseArgs({ options: { from: { type: 'string', default: '14' }, to: { type: 'string', default: '17' }, duration: { type: 'string', default: '20' } } });
const FROM = Number(values.from);
const TO = Number(values.to);
const DURATION = Number(values.duration);

interface Figures {
  scenario: string;
  pauseMs: number;
  phases: string;
  maxLatencyMs: number;
  processed: number;
  failed: number;
  abortedClients: number;
}

function maxLatencyMs(dir: string, prefix: string): number {
  let max = 0;
  for (const f of readdirSync(dir).filter((n) => n.startsWith(prefix))) {
    for (const line of readFileSync(join(dir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && us > max) max = us;
    }
  }
  return max / 1000;
}

async function scenario(pair: Pair, kind: 'pgbouncer' | 'revoke'): Promise<Figures> {
  const db = await pair.freshDatabase(`bench_${kind}`);
  await pgbenchDatabase(pair, db);
  let bouncer: EmbeddedPgBouncer | undefined;
  let extra = 'switchover:\n  pause: revoke\n  max_pause: 5s\n';
  let conn = { host: pair.source.host, port: pair.source.port, user: 'postgres', dbname: db };
  if (kind === 'pgbouncer') {
    bouncer = await EmbeddedPgBouncer.start({ databases: { [db]: { host: pair.source.host, port: pair.source.port, dbname: db } }, users: { postgres: pair.source.password } });
    extra = bouncerYaml(bouncer.port, bouncer.adminPassword, bouncer.configFile);
    conn = { ...conn, port: bouncer.port };
  } else {
    // The revoke fence spares pgshift's own role; pgbench runs as another one.
    for (const c of [pair.source, pair.target]) {
      await c.sql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench') THEN CREATE ROLE bench LOGIN PASSWORD 'bench'; END IF; END $$");
      await c.sql('GRANT ALL ON ALL TABLES IN SCHEMA public TO bench', [], db);
    }
    conn = { ...conn, user: 'bench' };
  }
  const cfgPath = await pair.writeConfig([db], extra);
  await startAndWait(loadConfig(cfgPath, pair.env()), db, pair.target);
  const prefix = `pgbench_${kind}`;
  const bench = pgbench(['-n', '-b', 'tpcb-like', '-M', 'simple', '-c', '8', '-j', '2', '-T', String(DURATION), '--log', `--log-prefix=${prefix}`],
    conn, kind === 'revoke' ? 'bench' : pair.source.password, pair.dir);
  await waitFor(async () => (await pair.source.sql<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_history', [], db))[0]!.n > 2000, { timeoutMs: 60_000, what: 'load' });
  const r = await runCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: pair.env() });
  if (r.code !== 0) throw new Error(`switchover failed: ${r.stderr}`);
  const doc = JSON.parse(r.stdout) as { pauseMs: number; timeline: { phases: { phase: string; ms: number; inPause: boolean }[] } };
  const res = await bench;
  const out = res.stdout + res.stderr;
  const s = parsePgbench(out);
  await bouncer?.stop();
  return {
    scenario: kind === 'pgbouncer' ? `pgbouncer PAUSE/RESUME, ${FROM}->${TO}` : `revoke, no PgBouncer, ${FROM}->${TO}`,
    pauseMs: Math.round(doc.pauseMs),
    phases: doc.timeline.phases.filter((p) => p.inPause).map((p) => `${p.phase} ${Math.round(p.ms)}`).join(', '),
    maxLatencyMs: Math.round(maxLatencyMs(pair.dir, prefix)),
    processed: s.processed,
    failed: s.failed,
    abortedClients: (out.match(/client \d+ aborted/g) ?? []).length,
  };
}

const pair = await Pair.start(FROM, TO);
try {
  const results = [await scenario(pair, 'pgbouncer'), await scenario(pair, 'revoke')];
  console.log(`\npgshift switchover benchmark: pgbench TPC-B, 8 clients, ${DURATION}s, PostgreSQL ${FROM} -> ${TO}, ${(await import('node:os')).cpus().length} CPUs`);
  for (const f of results) {
    console.log(`\n${f.scenario}`);
    console.log(`  pause window (pgshift):        ${f.pauseMs} ms   [${f.phases}]`);
    console.log(`  longest transaction latency:   ${f.maxLatencyMs} ms`);
    console.log(`  transactions processed:        ${f.processed}`);
    console.log(`  failed transactions:           ${f.failed}`);
    console.log(`  clients aborted (cut off):     ${f.abortedClients}`);
  }
  console.log('\n' + JSON.stringify(results));
} finally {
  await pair.stop();
}
