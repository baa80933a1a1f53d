// Test harness: a pair of real clusters per test file, a fresh database per
// test, a config file pointing at them, and the CLI run as a child process.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClusters, EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteIdent } from '../../src/pg/quote.js';

export { waitFor, sleep } from '../../src/util/wait.js';
import { waitFor } from '../../src/util/wait.js';

// The CLI entry compiled alongside this file, so a build in another outDir tests itself.
export const BIN = fileURLToPath(new URL('../../src/cli/entry.js', import.meta.url));

/** Version pairs (source, target) to test; PGSHIFT_TEST_PAIRS="12:17,14:18" overrides. */
export function versionPairs(defaults: [number, number][]): [number, number][] {
  const env = process.env.PGSHIFT_TEST_PAIRS;
  if (!env) return defaults;
  return env.split(',').map((p) => p.split(':').map(Number) as [number, number]);
}

let dbCounter = 0;

export class Pair {
  readonly dir: string;
  private constructor(readonly source: EmbeddedCluster, readonly target: EmbeddedCluster) {
    this.dir = mkdtempSync(join(tmpdir(), 'pgshift-test-'));
  }

  static async start(from: number, to: number, opts: { settings?: Record<string, string | number | boolean> } = {}): Promise<Pair> {
    const [s, t] = await startClusters([from, to], { settings: opts.settings });
    return new Pair(s!, t!);
  }

  /** A new, empty database on the source with a unique name (prefix may be hostile). */
  async freshDatabase(prefix = 'db', opts: { onTarget?: boolean } = {}): Promise<string> {
    const name = `${prefix}_${process.pid}_${++dbCounter}`;
    await this.source.createDatabase(name);
    if (opts.onTarget) await this.target.createDatabase(name);
    return name;
  }

  /** Write a pgshift.yml for this pair; passwords come from the environment (see env()). */
  async writeConfig(databases: string[] | Record<string, unknown>, extra = '', file = `pgshift-${++dbCounter}.yml`): Promise<string> {
    const [ss, ts] = await Promise.all([this.source.systemIdentifier(), this.target.systemIdentifier()]);
    const dbs = Array.isArray(databases) ? Object.fromEntries(databases.map((d) => [d, {}])) : databases;
    const dbYaml = Object.keys(dbs).length
      ? Object.entries(dbs).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join('\n')
      : '  {}';
    const text = `source:
  conn: ${JSON.stringify(formatConninfo(this.source.params()))}
  password: \${PGSHIFT_SOURCE_PASSWORD}
  system_identifier: "${ss}"
target:
  conn: ${JSON.stringify(formatConninfo(this.target.params()))}
  password: \${PGSHIFT_TARGET_PASSWORD}
  system_identifier: "${ts}"
databases:
${dbYaml}
${extra}`;
    const path = join(this.dir, file);
    writeFileSync(path, text);
    return path;
  }

  /** Environment carrying both passwords for the CLI. */
  env(): Record<string, string> {
    return { PGSHIFT_SOURCE_PASSWORD: this.source.password, PGSHIFT_TARGET_PASSWORD: this.target.password };
  }

  async stop(): Promise<void> {
    await Promise.all([this.source.destroy(), this.target.destroy()]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CliResult {
  code: number | null;
  /** The signal that ended it (SIGKILL from PGSHIFT_FAULT), else null. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the pgshift CLI as a user would, with a timeout. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Start the pgshift CLI as a child process; `done` settles when it exits. */
export function startCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? tmpdir(),
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pgshift ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** Has this process stopped itself (PGSHIFT_FAULT=stop:<point>)? Reads /proc/<pid>/stat. */
export function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/** Names that break naive SQL building. Each fits in 63 bytes. */
export const HOSTILE_NAMES = [
  'Mixed Case',
  'with "double" quotes',
  "it's; DROP TABLE x;--",
  'a";DROP TABLE x;--',
  'dot.ted',
  'back\\slash',
  'ünïcødé 表',
  'x'.repeat(63),
];

export const qi = quoteIdent;

/** Rows of a table on one cluster, ordered by every column as text, for an independent comparison. */
export async function tableRows(c: EmbeddedCluster, db: string, schema: string, table: string): Promise<string[]> {
  const rows = await c.sql<{ r: string }>(
    `SELECT t::text AS r FROM ${quoteIdent(schema)}.${quoteIdent(table)} t ORDER BY 1`, [], db);
  return rows.map((r) => r.r);
}

export function conninfoOf(c: EmbeddedCluster, db = 'postgres'): string {
  return formatConninfo(c.params(db));
}

/**
 * Wait until a slot on `publisher` has confirmed everything inserted there so
 * far: the WAL insert position (these clusters commit asynchronously, so a
 * commit can be visible before it is written), or a position taken earlier.
 */
export async function slotConfirmed(publisher: EmbeddedCluster, slot: string, opts: { lsn?: string; timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const lsn = opts.lsn ?? (await publisher.sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn'))[0]!.lsn;
  await waitFor(async () => {
    const [row] = await publisher.sql<{ ok: boolean }>(
      'SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2', [lsn, slot]);
    return row?.ok === true;
  }, { timeoutMs: opts.timeoutMs ?? 120_000, intervalMs: opts.intervalMs, what: `slot ${slot} to confirm ${lsn}` });
}
