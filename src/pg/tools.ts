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

/**
 * The lines of a client tool's stderr that say what went wrong: from its
 * first ERROR/FATAL/error line (psql: "psql:<stdin>:988: ERROR:  ...",
 * pg_dump: "pg_dump: error: ...") with the DETAIL/HINT/CONTEXT/LINE lines
 * that follow it; else the last lines it wrote.
 */
export function childErrorLines(stderr: string, max = 8): string[] {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '');
  const first = lines.findIndex((l) => /\b(ERROR|FATAL|PANIC):|: error: |^error: /.test(l));
  if (first < 0) return lines.slice(-5);
  const out = [lines[first]!];
  for (const l of lines.slice(first + 1)) {
    if (out.length >= max || !/^(DETAIL|HINT|CONTEXT|LINE \d+|QUERY|\s)|^[a-z_]+: (detail|hint): /.test(l)) break;
    out.push(l);
  }
  return out;
}

/**
 * Run a client tool against a server; connection parameters go through the
 * environment. Fails with a ToolError (code tool_failed) that carries the
 * child's own error lines (details.stderr, details.exitCode); never with an
 * I/O error of the pipes between us and the child.
 */
export async function runTool(tool: FoundTool, args: string[], conn: ConnParams, password: string | undefined, opts: { input?: string } = {}): Promise<RunToolResult> {
  const env = toolEnv(conn, password);
  const name = tool.path.split('/').pop()!;
  return new Promise((resolve, reject) => {
    const child = spawn(tool.path, args, { env, stdio: ['pipe', 'pipe', 'pipe'] } satisfies SpawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    // A child that stops early (psql at its first error under ON_ERROR_STOP)
    // closes its stdin while input is still being written: the write fails
    // with EPIPE. That is not the failure to report: the exit status and
    // stderr below are. Without a listener the EPIPE would crash the process.
    child.stdin!.on('error', () => undefined);
    child.on('error', (e) => {
      reject(new ToolError('tool_failed', `could not run ${tool.path}: ${e.message}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) {
        resolve({ stdout, stderr });
        return;
      }
      const how = code === null ? `was killed by signal ${signal ?? 'unknown'}` : `exited with code ${code}`;
      const lines = childErrorLines(stderr);
      reject(new ToolError('tool_failed', `${name} ${how}${lines.length ? `:\n  ${lines.join('\n  ')}` : ''}`, {
        details: { tool: name, exitCode: code, signal, stderr: lines },
      }));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

/**
 * The archive entry a psql script failed in, from psql's "psql:<stdin>:N:
 * ERROR:" line and the "-- Name: x; Type: T; Schema: s; Owner: o" header that
 * pg_dump/pg_restore write before each entry: e.g. "FUNCTION public.f()".
 * The line number alone means nothing to a user who never saw the script.
 */
export function psqlFailedEntry(script: string, errorLines: string[]): string | undefined {
  const m = errorLines.map((l) => /^psql:[^:]*:(\d+): (?:ERROR|FATAL):/.exec(l)).find((x) => x);
  if (!m) return undefined;
  const lines = script.split('\n');
  for (let i = Math.min(Number(m[1]), lines.length) - 1; i >= 0; i--) {
    const h = /^-- Name: (.*); Type: (.*); Schema: (.*); Owner: .*$/.exec(lines[i]!);
    if (h) return `${h[2]} ${h[3] === '-' ? '' : `${h[3]}.`}${h[1]}`;
  }
  return undefined;
}

/**
 * Run an SQL script (pg_restore's output) on one database with psql, all or
 * nothing: it stops at the first error and rolls back. The script is
 * wrapped in BEGIN ... COMMIT rather than run with --single-transaction,
 * which commits whatever it has read when its input ends: if pgshift dies
 * while feeding it, its input ends early, no COMMIT arrives, and the
 * server rolls the transaction back. A failure is a ToolError whose details
 * carry psql's error lines and the archive entry it failed in (entry).
 */
export async function runPsqlScript(conn: ConnParams, password: string | undefined, sql: string): Promise<void> {
  const psql = await findTool('psql');
  const script = `BEGIN;\n${sql}\nCOMMIT;\n`;
  try {
    await runTool(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'], conn, password, { input: script });
  } catch (e) {
    if (!(e instanceof ToolError) || e.code !== 'tool_failed') throw e;
    const entry = psqlFailedEntry(script, (e.details?.stderr as string[] | undefined) ?? []);
    throw new ToolError('tool_failed', e.message, { cause: e, details: { ...e.details, entry } });
  }
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
