// The PostgreSQL client programs pgshift runs (pg_dump, pg_restore, psql,
// pgbench): found in PGSHIFT_PG_BINDIR, in the directories PostgreSQL's
// packages install to (/usr/lib/postgresql/NN/bin, /usr/pgsql-NN/bin,
// Homebrew's postgresql@NN) or on PATH, and chosen for the pair of servers
// they work between (dumpTools). Connection parameters, the password
// included, go through the environment, never argv.

import { execFile, spawn, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
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
  minor: number;
  version: string;
}

/**
 * Where PostgreSQL installs its client programs, by major version: Debian and
 * Ubuntu (postgresql-client-NN), the PGDG packages of RHEL-family systems
 * (postgresqlNN), Homebrew on Apple silicon and on Intel (postgresql@NN).
 */
const VERSIONED_DIRS: { base: string; match: RegExp; bin: (entry: string) => string }[] = [
  { base: '/usr/lib/postgresql', match: /^\d+$/, bin: (e) => join('/usr/lib/postgresql', e, 'bin') },
  { base: '/usr', match: /^pgsql-\d+$/, bin: (e) => join('/usr', e, 'bin') },
  { base: '/opt/homebrew/opt', match: /^postgresql@\d+$/, bin: (e) => join('/opt/homebrew/opt', e, 'bin') },
  { base: '/usr/local/opt', match: /^postgresql@\d+$/, bin: (e) => join('/usr/local/opt', e, 'bin') },
];

/**
 * Directories that may hold PostgreSQL client programs, in search order:
 * PGSHIFT_PG_BINDIR alone when set (the user's choice, nothing else), else
 * the versioned installation directories (newest major first), then PATH.
 */
function searchDirs(): string[] {
  if (process.env.PGSHIFT_PG_BINDIR) return [process.env.PGSHIFT_PG_BINDIR];
  const out: string[] = [];
  for (const d of VERSIONED_DIRS) {
    if (!existsSync(d.base)) continue;
    let entries: string[];
    try {
      entries = readdirSync(d.base).filter((e) => d.match.test(e));
    } catch {
      continue;
    }
    const major = (e: string): number => Number(/(\d+)$/.exec(e)![1]);
    for (const e of entries.sort((a, b) => major(b) - major(a))) out.push(d.bin(e));
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir) out.push(dir);
  // One directory under two names (/bin and /usr/bin on a merged /usr) is looked at once.
  const real = out.map((p) => {
    try {
      return realpathSync(p);
    } catch {
      return p;
    }
  });
  return out.filter((_, i) => real.indexOf(real[i]!) === i);
}

function candidates(tool: ClientTool): string[] {
  return searchDirs().map((d) => join(d, tool)).filter((p) => existsSync(p));
}

/**
 * Each program's `--version`, asked once per process: finding the tools runs
 * them all (Debian's /usr/bin/pg_dump is a Perl wrapper, tens of milliseconds
 * a run), and a run of pgshift looks for them more than once.
 */
const versions = new Map<string, Promise<FoundTool | undefined>>();

function versionOf(path: string): Promise<FoundTool | undefined> {
  let v = versions.get(path);
  if (!v) versions.set(path, (v = askVersion(path)));
  return v;
}

async function askVersion(path: string): Promise<FoundTool | undefined> {
  try {
    const { stdout } = await execFileP(path, ['--version']);
    const m = /(\d+)(?:\.(\d+))?/.exec(stdout.replace(/^[^)]*\)/, ''));
    if (!m) return undefined;
    return { path, major: Number(m[1]), minor: Number(m[2] ?? 0), version: stdout.trim() };
  } catch {
    return undefined;
  }
}

/**
 * How to install the client programs of a major version, per platform. (No
 * repository host names: the distribution's packages, or the PostgreSQL
 * project's own repositories, PGDG, as each platform documents them.)
 */
export function installHint(major?: number): string {
  const nn = major === undefined ? 'NN' : String(major);
  return `Install PostgreSQL's client programs of major ${major === undefined ? 'NN' : `${major} or newer`}: Debian/Ubuntu: apt-get install postgresql-client-${nn} (from the PostgreSQL project's apt repository, PGDG, when the distribution has no such version); RHEL, Rocky, Alma, Fedora: dnf install postgresql${nn} (PGDG yum repository); macOS: brew install postgresql@${nn}. Or set PGSHIFT_PG_BINDIR to a directory holding pg_dump, pg_restore and psql of that version.`;
}

/**
 * The newest installed copy of a client tool. With `minMajor`, refuses one
 * older than that. (pg_dump, pg_restore and psql come from dumpTools.)
 */
export async function findTool(tool: ClientTool, minMajor?: number): Promise<FoundTool> {
  const found = (await Promise.all(candidates(tool).map(versionOf))).filter((v) => v !== undefined);
  found.sort((a, b) => b.major - a.major);
  const best = found[0];
  if (!best) throw new ToolError('tool_missing', `${tool} not found`, { hint: installHint(minMajor) });
  if (minMajor !== undefined && best.major < minMajor) {
    throw new ToolError('tool_too_old', `${tool} is version ${best.major} (${best.path}) but the server is version ${minMajor}; ${tool} must be at least as new as the server`, { hint: installHint(minMajor) });
  }
  return best;
}

/** The programs that copy a schema: one installation's pg_dump, pg_restore and psql. */
export interface DumpTools {
  pgDump: FoundTool;
  pgRestore: FoundTool;
  psql: FoundTool;
  /** Why these, in a sentence (check shows it). */
  reason: string;
}

/**
 * Choose the pg_dump, pg_restore and psql that copy the schema from a source
 * of `sourceMajor` to a target of `targetMajor`. The rule:
 *   1. pg_dump must be at least the source's major (an older one refuses a
 *      newer server);
 *   2. of those, the target's own major when installed (its script is made
 *      for that server); else the newest one not newer than the target
 *      (pg_dump's output is meant to load into the same or a newer server);
 *      else the oldest one newer than the target (its script may hold what
 *      the target does not know: the schema step removes the settings it
 *      knows of, such as transaction_timeout from 17);
 *   3. pg_restore and psql from the same installation as that pg_dump: its
 *      archive needs a pg_restore at least as new, and its script may hold
 *      psql meta-commands an older psql does not know (\restrict, which
 *      pg_dump 18 and the 17.6 / 16.10 / 15.14 / 14.19 / 13.22 minors write).
 * PGSHIFT_PG_BINDIR, when set, is the only installation considered.
 */
export async function dumpTools(sourceMajor: number, targetMajor: number): Promise<DumpTools> {
  const dirs = searchDirs().filter((dir) => existsSync(join(dir, 'pg_dump')));
  const dumps = await Promise.all(dirs.map((dir) => versionOf(join(dir, 'pg_dump'))));
  const installs = dirs.flatMap((dir, i) => (dumps[i] ? [{ dir, pgDump: dumps[i] }] : []));
  const where = process.env.PGSHIFT_PG_BINDIR ? `PGSHIFT_PG_BINDIR (${process.env.PGSHIFT_PG_BINDIR})` : 'the installation directories and PATH';
  if (installs.length === 0) throw new ToolError('tool_missing', `pg_dump not found in ${where}`, { hint: installHint(Math.max(sourceMajor, targetMajor)) });
  const newest = [...installs].sort((a, b) => b.pgDump.major - a.pgDump.major)[0]!;
  if (newest.pgDump.major < sourceMajor) {
    throw new ToolError('tool_too_old', `pg_dump is version ${newest.pgDump.major} (${newest.pgDump.path}) but the source server is version ${sourceMajor}; pg_dump must be at least as new as the source`, { hint: installHint(Math.max(sourceMajor, targetMajor)) });
  }
  // Rule 2's order (a stable sort: of several installations of one major, the first in search
  // order); the first with its own pg_restore and psql is taken, so only those are asked.
  const rank = (m: number): number => (m === targetMajor ? 0 : m < targetMajor ? 1000 - m : 2000 + m);
  const readers = installs.filter((i) => i.pgDump.major >= sourceMajor).sort((a, b) => rank(a.pgDump.major) - rank(b.pgDump.major));
  for (const { dir, pgDump } of readers) {
    const sibling = async (t: ClientTool): Promise<FoundTool | undefined> => {
      const v = existsSync(join(dir, t)) ? await versionOf(join(dir, t)) : undefined;
      // A wrapper or a stray copy of another version is not this installation's.
      return v && v.major === pgDump.major && v.minor >= pgDump.minor ? v : undefined;
    };
    const [pgRestore, psql] = await Promise.all([sibling('pg_restore'), sibling('psql')]);
    if (!pgRestore || !psql) continue;
    const reason = pgDump.major === targetMajor
      ? `the target's major version (${targetMajor})`
      : pgDump.major < targetMajor
        ? `the newest installed that is at least the source's major (${sourceMajor}) and not newer than the target's (${targetMajor}); none of ${targetMajor} is installed`
        : `the oldest installed that is at least the source's major (${sourceMajor}); none of ${targetMajor} or older is installed, so its script is adapted to the older target`;
    return { pgDump, pgRestore, psql, reason: `${reason}, from ${dir}` };
  }
  throw new ToolError('tool_missing', `pg_dump ${newest.pgDump.major} (${newest.pgDump.path}) has no pg_restore and psql of the same version beside it in ${newest.dir}`, {
    hint: `pgshift runs pg_dump, pg_restore and psql of one installation (psql must know what that pg_dump writes). ${installHint(newest.pgDump.major)}`,
  });
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
export async function runPsqlScript(psql: FoundTool, conn: ConnParams, password: string | undefined, sql: string): Promise<void> {
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
