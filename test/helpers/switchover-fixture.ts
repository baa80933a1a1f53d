// Shared setup for the switchover tests and benchmark: a pgbench database on
// the source with a ledger table, the same tables on the target, forward
// replication started with pgshift's own start step, and pgbench runs whose
// output is parsed for processed and failed transactions.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import type { Config } from '../../src/config/config.js';
import { findTool, toolEnv } from '../../src/pg/tools.js';
import { startReplication } from '../../src/steps/start.js';
import { namesFor } from '../../src/replication/names.js';
import { waitFor } from '../../src/util/wait.js';
import type { Pair } from './harness.js';

export const LEDGER_SQL = `CREATE TABLE ledger (
  id bigserial PRIMARY KEY,
  client int NOT NULL,
  delta int NOT NULL,
  server_port int NOT NULL DEFAULT inet_server_port(),
  at timestamptz NOT NULL DEFAULT clock_timestamp())`;

/** TPC-B-like transaction that also records itself in the ledger. */
export const LEDGER_SCRIPT = `\\set aid random(1, 100000 * :scale)
\\set bid random(1, 1 * :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
INSERT INTO ledger (client, delta) VALUES (:client_id, :delta);
END;
`;

export async function pgbench(args: string[], conn: { host: string; port: number; user: string; dbname: string }, password: string, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const tool = await findTool('pgbench');
  const env = toolEnv({ host: conn.host, port: String(conn.port), user: conn.user, dbname: conn.dbname }, password);
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** pgbench tables (scale 1) + ledger on the source, the same empty tables on the target. */
export async function pgbenchDatabase(pair: Pair, db: string): Promise<void> {
  await pair.target.createDatabase(db);
  const s = { host: pair.source.host, port: pair.source.port, user: 'postgres', dbname: db };
  const t = { host: pair.target.host, port: pair.target.port, user: 'postgres', dbname: db };
  const a = await pgbench(['-i', '-q', '-s', '1'], s, pair.source.password);
  if (a.code !== 0) throw new Error(`pgbench -i failed: ${a.stderr}`);
  const b = await pgbench(['-i', '-q', '-I', 'dtp', '-s', '1'], t, pair.target.password);
  if (b.code !== 0) throw new Error(`pgbench -i (target) failed: ${b.stderr}`);
  for (const c of [pair.source, pair.target]) await c.sql(LEDGER_SQL, [], db);
}

export async function startAndWait(config: Config, db: string, target: EmbeddedCluster): Promise<void> {
  await startReplication(config, db);
  const sub = namesFor(db).subscription;
  await waitFor(async () => {
    const rows = await target.sql<{ n: number; r: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE sr.srsubstate = 'r')::int AS r FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1",
      [sub], db);
    return rows[0]!.n > 0 && rows[0]!.n === rows[0]!.r;
  }, { timeoutMs: 90_000, what: 'initial copy to finish' });
}

export interface PgbenchSummary {
  processed: number;
  failed: number;
  aborted: boolean;
  maxLatencyMs?: number;
}

export function parsePgbench(out: string): PgbenchSummary {
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
  const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0);
  return { processed, failed, aborted: /aborted|error/i.test(out.replace(/number of failed transactions.*\n/, '')) };
}

export function writeScript(dir: string, name = 'ledger.sql'): string {
  const p = join(dir, name);
  writeFileSync(p, LEDGER_SCRIPT);
  return p;
}

export function bouncerYaml(adminPort: number, adminPassword: string, configFile: string, extra = ''): string {
  return `switchover:
  pause: pgbouncer
  max_pause: 5s
  pgbouncer:
    admin: "host=127.0.0.1 port=${adminPort} user=pgbouncer_admin dbname=pgbouncer"
    password: "${adminPassword}"
    config: ${JSON.stringify(configFile)}
${extra}`;
}
