// The PostgreSQL client programs pgshift runs (pg_dump, pg_dumpall, psql,
// pgbench): found on PATH or in /usr/lib/postgresql/<v>/bin, with their major
// version checked against the server they will talk to. Connection
// parameters, the password included, go through the environment, never argv.

import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ToolError } from '../errors.js';
import { conninfoEnv, passfilePath, pgpassFor, type ConnParams } from '../config/conninfo.js';
import { resolvedParams } from './connect.js';

const execFileP = promisify(execFile);

export type ClientTool = 'pg_dump' | 'pg_dumpall' | 'psql' | 'pgbench' | 'pg_restore';

export interface FoundTool {
  path: string;
  major: number;
  version: string;
}

function candidates(tool: ClientTool): string[] {
  const out: string[] = [];
  if (process.env.PGSHIFT_PG_BINDIR) out.push(join(process.env.PGSHIFT_PG_BINDIR, tool));
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) out.push(join(base, v, 'bin', tool));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) out.push(join(dir, tool));
  return out.filter((p, i) => out.indexOf(p) === i && existsSync(p));
}

async function versionOf(path: string): Promise<FoundTool | undefined> {
  try {
    const { stdout } = await execFileP(path, ['--version']);
    const m = /(\d+)(?:\.(\d+))?/.exec(stdout.replace(/^[^)]*\)/, ''));
    if (!m) return undefined;
    return { path, major: Number(m[1]), version: stdout.trim() };
  } catch {
    return undefined;
  }
}

/**
 * The newest installed copy of a client tool. With `minMajor`, refuses one
 * older than that (pg_dump must be at least the source server's major).
 */
export async function findTool(tool: ClientTool, minMajor?: number): Promise<FoundTool> {
  const found: FoundTool[] = [];
  for (const p of candidates(tool)) {
    const v = await versionOf(p);
    if (v) found.push(v);
  }
  found.sort((a, b) => b.major - a.major);
  const best = found[0];
  const install = 'Install the PostgreSQL client package: apt-get install -y postgresql-client (or postgresql-client-NN for a newer major from apt.postgresql.org), or set PGSHIFT_PG_BINDIR.';
  if (!best) throw new ToolError('tool_missing', `${tool} not found`, { hint: install });
  if (minMajor !== undefined && best.major < minMajor) {
    throw new ToolError('tool_too_old', `${tool} is version ${best.major} (${best.path}) but the server is version ${minMajor}; ${tool} must be at least as new as the server`, { hint: install });
  }
  return best;
}

export interface RunToolResult {
  stdout: string;
  stderr: string;
}

/** Run a client tool against a server; connection parameters go through the environment. */
export async function runTool(tool: FoundTool, args: string[], conn: ConnParams, password: string | undefined, opts: { input?: string; maxBuffer?: number } = {}): Promise<RunToolResult> {
  const env = toolEnv(conn, password);
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { env, stdio: ['pipe', 'pipe', 'pipe'] } satisfies SpawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new ToolError('tool_failed', `${tool.path.split('/').pop()} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/**
 * Environment for a client tool: the caller's minus every PG* variable it
 * had, plus this connection resolved the way pgshift's own connections are
 * (service, PG* environment, defaults) and the password pgshift would use
 * (the configured one, else the password file's line for this database), so
 * the child talks to the same server as the same user with the same TLS.
 */
export function toolEnv(conn: ConnParams, password: string | undefined): NodeJS.ProcessEnv {
  const resolved = resolvedParams(conn, 'connection');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
  Object.assign(env, conninfoEnv(resolved));
  delete env.PGPASSWORD;
  const pw = password ?? resolved.password ?? pgpassFor(resolved, resolved.dbname).password;
  if (pw !== undefined) env.PGPASSWORD = pw;
  env.PGPASSFILE = passfilePath(resolved);
  return env;
}
