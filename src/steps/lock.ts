// One pgshift at a time per database: commands that change a database
// (run, schema, start, wait, analyze, switchover, rollback, cleanup) hold a
// session-level advisory lock keyed on the database's name, on the source
// and on the target, for as long as they run. A second pgshift that would
// change the same database is refused at once (exit 3), naming the holder.
// Read-only commands (status, check, verify) take none.
//
// The lock lives in each side's maintenance database (where the fence record
// lives too, state.ts), not in the migrated database: the target's may not
// exist yet, and the revoke fence ends every other session of the migrated
// database. A session-level lock goes with its connection, so a pgshift that
// is killed, or whose machine dies, leaves no stale lock behind.
//
// The holder is named from its session's application_name, which pgshift
// sets to "pgshift lock <command> <pid> <since> <host>" (63 bytes at most,
// so a long host name is cut); every role may read another session's
// application_name in pg_stat_activity.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config/config.js';
import { databaseConfig } from '../config/config.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import { sqlFile } from '../pg/sql.js';
import { PgshiftError, SafetyError } from '../errors.js';

/** Key 1 of every pgshift lock ("pgsh"): pgshift's locks cannot meet another application's single-key locks (those show objsubid 1). */
const LOCK_CLASS = 0x70677368;

/** The two int4 keys of the lock for one database name. */
export function lockKeys(database: string): [number, number] {
  return [LOCK_CLASS, createHash('sha256').update(`pgshift:${database}`).digest().readInt32BE(0)];
}

/** Who holds a database's lock, as far as the server shows it. */
export interface LockHolder {
  side: Side;
  /** The holding session's pid on that server. */
  backendPid: number;
  /** From the holder's application_name, when it is a pgshift. */
  command?: string;
  pid?: number;
  host?: string;
  since?: string;
  clientAddr?: string;
}

const NAME_PREFIX = 'pgshift lock ';

/** The application_name of a lock session: the fields a refused pgshift shows, cut to PostgreSQL's 63 bytes. */
export function lockApplicationName(command: string, pid: number, since: Date, host: string): string {
  // Non-ASCII bytes would show as "?" on the server anyway.
  const text = `${NAME_PREFIX}${command} ${pid} ${Math.floor(since.getTime() / 1000)} ${host.replace(/[^\x20-\x7e]/g, '?')}`;
  return text.slice(0, 63);
}

export function parseLockApplicationName(name: string | null | undefined): Pick<LockHolder, 'command' | 'pid' | 'since' | 'host'> {
  const m = /^pgshift lock (\S+) (\d+) (\d+) ?(.*)$/.exec(name ?? '');
  if (!m) return {};
  return { command: m[1]!, pid: Number(m[2]), since: new Date(Number(m[3]) * 1000).toISOString(), host: m[4] || undefined };
}

export function describeHolder(h: LockHolder): string {
  if (h.command === undefined) {
    return `a session that is not a pgshift command holds it (pid ${h.backendPid} on the ${h.side}${h.clientAddr ? `, from ${h.clientAddr}` : ''})`;
  }
  return `"pgshift ${h.command}" (pid ${h.pid} on host ${h.host ?? 'unknown'}, since ${h.since}; its session is pid ${h.backendPid} on the ${h.side})`;
}

/** The lock sessions of one command, one per side where it was taken. */
export class DatabaseLock {
  private constructor(private readonly sessions: Db[]) {}

  /**
   * Take the lock of each database on both sides, or refuse (SafetyError,
   * exit 3) naming the pgshift that holds one. A side pgshift cannot reach
   * (or that is not the configured cluster) is passed over here: the command
   * itself then reports that side as it always did, and a command that works
   * with one side down (cleanup) still can.
   */
  static async acquire(config: Config, databases: string[], command: string): Promise<DatabaseLock> {
    const names = [...new Set(databases)].sort();
    for (const d of names) databaseConfig(config, d);
    const since = new Date();
    const appName = lockApplicationName(command, process.pid, since, hostname());
    const sessions: Db[] = [];
    try {
      for (const side of ['source', 'target'] as const) {
        // One session per maintenance database of a side holds the locks of all the databases kept there.
        const bySession = new Map<string, Db | undefined>();
        for (const database of names) {
          const maint = maintenanceDb(config, side, database);
          if (!bySession.has(maint)) {
            const opened = await openLockSession(config, side, maint, appName);
            bySession.set(maint, opened);
            if (opened) sessions.push(opened);
          }
          const db = bySession.get(maint);
          if (!db) continue;
          const [k1, k2] = lockKeys(database);
          const got = await db.one<{ ok: boolean }>('SELECT pg_catalog.pg_try_advisory_lock($1::int4, $2::int4) AS ok', [k1, k2]);
          if (!got.ok) throw await refusal(db, side, database, command);
        }
      }
    } catch (e) {
      await Promise.all(sessions.map((s) => s.close()));
      throw e;
    }
    return new DatabaseLock(sessions);
  }

  async release(): Promise<void> {
    // Closing the session releases its session-level locks.
    await Promise.all(this.sessions.map((s) => s.close()));
  }
}

async function openLockSession(config: Config, side: Side, maintenance: string, applicationName: string): Promise<Db | undefined> {
  try {
    return await connect(side, side === 'source' ? config.source : config.target, {
      database: maintenance, applicationName, connectTimeoutMs: 5000,
    });
  } catch (e) {
    if (e instanceof PgshiftError) return undefined;
    throw e;
  }
}

async function refusal(db: Db, side: Side, database: string, command: string): Promise<SafetyError> {
  const [k1, k2] = lockKeys(database);
  const row = await db.maybeOne<{ pid: number; application_name: string | null; client_addr: string | null; backend_start: string | null }>(
    sqlFile('lock-holder'), [k1 >>> 0, k2 >>> 0]);
  const holder: LockHolder = row
    ? { side, backendPid: row.pid, clientAddr: row.client_addr ?? undefined, ...parseLockApplicationName(row.application_name) }
    : { side, backendPid: 0 };
  const who = row ? describeHolder(holder) : 'it was released just now';
  return new SafetyError('database_locked', `another pgshift is changing database "${database}": ${who}; "pgshift ${command} ${database}" was not started`, {
    hint: row
      // sql-lint: safe (a hint for the user: a pid is a number)
      ? `Wait for that command to finish, then run this one again; nothing was changed. A holder that hangs can be stopped (Ctrl-C, or kill ${holder.pid ?? 'its process'}${holder.host ? ` on ${holder.host}` : ''}); if that process is gone and its session stayed, end it on the ${side} with SELECT pg_terminate_backend(${holder.backendPid}).`
      : 'Run the command again.',
    details: { database, holder },
  });
}

/** Hold the lock of these databases while fn runs. */
export async function withDatabaseLock<T>(config: Config, databases: string[], command: string, fn: () => Promise<T>): Promise<T> {
  const lock = await DatabaseLock.acquire(config, databases, command);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
