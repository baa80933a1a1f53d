// PgBouncer: its admin console (PAUSE / RELOAD / RESUME), and the edits
// pgshift makes to its config file, all to the [databases] entry of the
// migrated database: pointed at the other cluster when writes resume, and,
// while they are paused, min_pool_size held at 0 (see holdEntryParams). The
// rest of the file is kept byte for byte, and each new file replaces the old
// one atomically (temp file + rename) so PgBouncer never reads half a file.

import { chownSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import type { SwitchoverConfig } from '../config/config.js';
import { describeConn, parseConninfo, type ConnParams } from '../config/conninfo.js';
import { clientConfig } from '../pg/connect.js';
import { ConfigError, ConnectionError, ProblemError } from '../errors.js';

export type BouncerConfig = NonNullable<SwitchoverConfig['pgbouncer']>;

/** A connection to the PgBouncer admin console. It speaks only the simple query protocol. */
export class BouncerConsole {
  private constructor(private readonly client: pg.Client, readonly label: string) {}

  static async open(cfg: BouncerConfig): Promise<BouncerConsole> {
    const opts = clientConfig(cfg.admin, cfg.adminPassword, { database: cfg.admin.dbname ?? 'pgbouncer', connectTimeoutMs: 5000 });
    // PgBouncer's console rejects unknown startup parameters.
    delete (opts as Record<string, unknown>).application_name;
    const client = new pg.Client(opts);
    client.on('error', () => undefined);
    const label = describeConn(cfg.admin);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      throw new ConnectionError('pgbouncer_unreachable', `PgBouncer admin console (${label}): cannot connect: ${(e as Error).message}`, {
        hint: 'Check switchover.pgbouncer.admin and that its user is listed in admin_users in pgbouncer.ini.',
      });
    }
    return new BouncerConsole(client, label);
  }

  async command(text: string): Promise<Record<string, unknown>[]> {
    try {
      const r = await this.client.query(text);
      return (Array.isArray(r) ? r.flatMap((x: pg.QueryResult) => x.rows) : r.rows) as Record<string, unknown>[];
    } catch (e) {
      throw new ProblemError('pgbouncer_command_failed', `PgBouncer (${this.label}): ${text}: ${(e as Error).message}`, {
        hint: 'Check the PgBouncer log; the database name must match its [databases] entry.',
      });
    }
  }

  /**
   * A PgBouncer database as SHOW DATABASES has it now (undefined: no such
   * database). minPoolSize is the one in effect: the entry's, else the global one.
   */
  async database(database: string): Promise<{ paused: boolean; host: string; port: string; minPoolSize: number } | undefined> {
    const rows = await this.command('SHOW DATABASES');
    const row = rows.find((r) => r.name === database);
    if (!row) return undefined;
    return { paused: String(row.paused) === '1', host: String(row.host ?? ''), port: String(row.port ?? ''), minPoolSize: Number(row.min_pool_size ?? 0) || 0 };
  }

  /** Clients of this database waiting for a server connection, and server logins in flight (SHOW POOLS, all its users). */
  async queue(database: string): Promise<{ waiting: number; logins: number }> {
    const rows = (await this.command('SHOW POOLS')).filter((r) => r.database === database);
    return { waiting: rows.reduce((n, r) => n + (Number(r.cl_waiting) || 0), 0), logins: rows.reduce((n, r) => n + (Number(r.sv_login) || 0), 0) };
  }

  /** Server connections PgBouncer is logging in right now for this database (SHOW POOLS sv_login, all its users). */
  async serverLogins(database: string): Promise<number> {
    const rows = await this.command('SHOW POOLS');
    return rows.filter((r) => r.database === database).reduce((n, r) => n + (Number(r.sv_login) || 0), 0);
  }

  /** Is this PgBouncer database paused (SHOW DATABASES "paused" column)? */
  async isPaused(database: string): Promise<boolean | undefined> {
    return (await this.database(database))?.paused;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

/** A PgBouncer console identifier: plain names as they are, others double-quoted. */
export function bouncerIdent(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

interface EntryLine {
  index: number;
  key: string;
  value: string;
}

function unquoteKey(k: string): string {
  const t = k.trim();
  if (t.startsWith('"') && t.endsWith('"') && t.length >= 2) return t.slice(1, -1).replace(/""/g, '"');
  return t;
}

function findEntry(lines: string[], database: string): EntryLine | undefined {
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const sec = /^\s*\[([^\]]+)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1]!.trim().toLowerCase();
      continue;
    }
    if (section !== 'databases' || /^\s*[;#]/.test(line)) continue;
    const m = /^\s*("(?:[^"]|"")*"|[^=\s]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && unquoteKey(m[1]!) === database) return { index: i, key: m[1]!, value: m[2]! };
  }
  return undefined;
}

/** The connection parameters of a [databases] entry. */
export function readDatabaseEntry(ini: string, database: string): ConnParams | undefined {
  const e = findEntry(ini.split('\n'), database);
  return e ? parseConninfo(e.value) : undefined;
}

function fmt(v: string): string {
  return /^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * The config text with one [databases] entry pointed at host/port/dbname.
 * Its other settings (pool_size, auth_user, ...) are kept, or, given `keep`,
 * replaced by those of `keep` (an entry's parameters as they were before
 * pgshift held some of them).
 */
export function rewriteDatabaseEntry(ini: string, database: string, to: { host: string; port: string; dbname: string }, keep?: ConnParams): string {
  const lines = ini.split('\n');
  const e = findEntry(lines, database);
  if (!e) throw new Error(`no [databases] entry named "${database}"`);
  const params = { ...(keep ?? parseConninfo(e.value)) };
  delete params.hostaddr;
  const rest = Object.entries(params).filter(([k]) => !['host', 'port', 'dbname'].includes(k));
  const value = [`host=${fmt(to.host)}`, `port=${fmt(to.port)}`, `dbname=${fmt(to.dbname)}`, ...rest.map(([k, v]) => `${k}=${fmt(String(v))}`)].join(' ');
  lines[e.index] = `${e.key} = ${value}`;
  return lines.join('\n');
}

function readConfig(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(file, '', `cannot read the PgBouncer config: ${(e as Error).message}`);
  }
}

function entryOf(file: string, text: string, database: string): ConnParams {
  const entry = readDatabaseEntry(text, database);
  if (!entry) {
    throw new ConfigError(file, '[databases]', `no entry named "${database}" (set switchover.pgbouncer.database to PgBouncer's name for this database)`);
  }
  return entry;
}

/** Replace `file` with `text` atomically, with the owner and mode of `like`. */
function writeAtomically(file: string, text: string, like: string): void {
  const st = statSync(like);
  const tmp = `${file}.pgshift-${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: st.mode & 0o7777 });
  try {
    chownSync(tmp, st.uid, st.gid);
  } catch {
    // not root: the file keeps our ownership, which is the same user anyway
  }
  renameSync(tmp, file);
}

/**
 * Where the entry's line is kept, as it was, while pgshift holds some of its
 * parameters: beside pgbouncer.ini (pgshift may write that directory: the
 * preflight checks it), so any later run, after a crash too, can put it back.
 */
export function heldEntryFile(file: string, database: string): string {
  return `${file}.pgshift-held-${encodeURIComponent(database)}`;
}

/** The entry's parameters as they were before pgshift held some of them (undefined: none held). */
export function heldEntry(file: string, database: string): ConnParams | undefined {
  const held = heldEntryFile(file, database);
  if (!existsSync(held)) return undefined;
  return parseConninfo(readFileSync(held, 'utf8').trim());
}

/**
 * Set some parameters of the entry (e.g. min_pool_size=0) for the time writes
 * are paused. The entry as it was is saved first (heldEntryFile), once: the
 * next repointConfigFile writes it back, with its new host, and removes the copy.
 */
export function holdEntryParams(file: string, database: string, params: Record<string, string>): void {
  const text = readConfig(file);
  entryOf(file, text, database);
  const lines = text.split('\n');
  const e = findEntry(lines, database)!;
  const held = heldEntryFile(file, database);
  if (!existsSync(held)) writeAtomically(held, `${e.value}\n`, file);
  // Only these parameters change, in place: host, port and dbname stay exactly
  // as written, or PgBouncer would take the entry for a new server and close
  // the pool's connections on RELOAD.
  let value = e.value;
  for (const [k, v] of Object.entries(params)) {
    const re = new RegExp(`(^|\\s)${k}\\s*=\\s*('(?:[^'\\\\]|\\\\.)*'|\\S+)`);
    value = re.test(value) ? value.replace(re, `$1${k}=${v}`) : `${value} ${k}=${v}`;
  }
  lines[e.index] = `${e.key} = ${value}`;
  const next = lines.join('\n');
  if (next !== text) writeAtomically(file, next, file);
}

/**
 * Point the entry at another server, atomically, keeping owner and mode, and
 * its other settings as they were before pgshift held any (heldEntryFile).
 */
export function repointConfigFile(file: string, database: string, to: { host: string; port: string; dbname: string }): { before: ConnParams } {
  const text = readConfig(file);
  const before = entryOf(file, text, database);
  const original = heldEntry(file, database);
  const next = rewriteDatabaseEntry(text, database, to, original);
  if (next !== text) writeAtomically(file, next, file);
  if (original) rmSync(heldEntryFile(file, database), { force: true });
  return { before };
}

/** Where the entry should point for a side: the host/port pgshift itself uses. */
export function entryFor(conn: ConnParams, database: string): { host: string; port: string; dbname: string } {
  return { host: (conn.host ?? conn.hostaddr ?? 'localhost').split(',')[0]!, port: (conn.port ?? '5432').split(',')[0]!, dbname: database };
}
