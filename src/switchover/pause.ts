// The four ways to pause writes. Each is an object with
//   pause(ctx, deadline)  stop new writes on the fenced side (records first what it changes),
//   resume(ctx)           let writes flow again, now to the other side,
//   undo(ctx)             give the fenced side its writes back (budget abort, rollback of a fence),
// and `terminates`: whether sessions are ended (revoke, readonly) or drained
// by the method itself (PgBouncer PAUSE waits for in-flight transactions;
// user commands stop their writers). Several databases moving at once are
// resumed together by resumeMany (PgBouncer: every entry repointed, one RELOAD).

import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Config, PauseMethod } from '../config/config.js';
import { describeConn } from '../config/conninfo.js';
import type { Db, Side } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { warning, type Emit } from '../events.js';
import { ConfigError, ProblemError } from '../errors.js';
import { msLeft, pastDeadline, sleep, type Deadline } from '../util/wait.js';
import { BouncerConsole, bouncerIdent, entryFor, holdEntryParams, repointConfigFile, type BouncerConfig } from './pgbouncer-admin.js';
import { updateFence, type FenceRecord, type Grant } from './state.js';
import { endpointEnv } from '../pg/child-env.js';

export interface FenceContext {
  config: Config;
  database: string;
  /** The side whose writes are paused. */
  side: Side;
  /** Maintenance-database connections: fenced side and the other side. */
  admin: Db;
  otherAdmin: Db;
  record: FenceRecord;
  emit: Emit;
  /**
   * pgbouncer: an admin console opened before the pause, so neither PAUSE nor
   * RESUME waits for a new connection and its authentication.
   */
  bouncer?: BouncerConsole;
  /** Set once this run's own PAUSE returned: resume need not ask PgBouncer whether it is paused. */
  pausedHere?: boolean;
  /** pgbouncer: the database's min_pool_size in effect, read before the pause (prepare). */
  bouncerMinPool?: number;
}

export interface PauseMethodImpl {
  name: PauseMethod;
  terminates: boolean;
  /** Read-only look-ups before the pause (changes nothing), so the pause spends no round trip on them. */
  prepare?(ctx: FenceContext): Promise<void>;
  pause(ctx: FenceContext, deadline: Deadline): Promise<void>;
  resume(ctx: FenceContext): Promise<void>;
  undo(ctx: FenceContext): Promise<void>;
  /**
   * Resume several databases at once, where the method can do better than one
   * by one: an outcome per context; a throw (its shared part failed) fails them all.
   */
  resumeAll?(ctxs: FenceContext[]): Promise<PromiseSettledResult<void>[]>;
  /**
   * After the resume, before pgshift's own work there (stopping the feed,
   * starting the other direction, which decodes WAL): wait, at most maxMs, until
   * the clients queued during the pause have been served, so that work does not
   * take the CPU they need while their server connections are being opened.
   * Where the method can see the queue (PgBouncer). Returns the ms waited.
   */
  drain?(ctx: FenceContext, maxMs: number): Promise<{ ms: number; drained: boolean }>;
}

/**
 * Resume the databases of one move (one fence context each) together, each
 * awaited to its end: an outcome per context, so one database's failed
 * resume is that database's alone.
 */
export async function resumeMany(impl: PauseMethodImpl, ctxs: FenceContext[]): Promise<PromiseSettledResult<void>[]> {
  if (ctxs.length === 0) return [];
  if (!impl.resumeAll) return Promise.allSettled(ctxs.map((c) => impl.resume(c)));
  try {
    return await impl.resumeAll(ctxs);
  } catch (e) {
    return ctxs.map(() => ({ status: 'rejected', reason: e }));
  }
}

/** Raised when a pause method does not finish before the budget runs out. */
export class PauseTimeout extends Error {}

function otherSide(side: Side): Side {
  return side === 'source' ? 'target' : 'source';
}

function grantOptionSql(g: Grant): string {
  return g.grantable ? ' WITH GRANT OPTION' : '';
}

function cascadeSql(g: Grant): string {
  return g.grantable ? ' CASCADE' : '';
}

function onOffSql(v: string | null): string {
  return v === 'on' ? 'on' : 'off';
}

function granteeSql(g: Grant): string {
  return g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee);
}

export async function connectGrants(admin: Db, database: string): Promise<Grant[]> {
  return admin.query<Grant & Record<string, unknown>>(sqlFile('fence-connect-grants'), [database]);
}

/** The GRANT that gives one recorded grantee CONNECT back: what pgshift runs, and what it tells people to run. */
function grantConnectSql(database: string, g: Grant): string {
  return `GRANT CONNECT ON DATABASE ${quoteIdent(database)} TO ${granteeSql(g)}${grantOptionSql(g)}`;
}

/** Puts default_transaction_read_only back to `before` (null: not set), or sets it 'on'. */
function readOnlySql(database: string, before: string | null | 'on'): string {
  return before === null
    ? `ALTER DATABASE ${quoteIdent(database)} RESET default_transaction_read_only`
    : `ALTER DATABASE ${quoteIdent(database)} SET default_transaction_read_only = ${onOffSql(before)}`;
}

/** Give CONNECT back to exactly the grantees recorded (the ones that exist on this cluster). */
export async function grantBack(admin: Db, database: string, grants: Grant[]): Promise<string[]> {
  const missing: string[] = [];
  for (const g of grants) {
    if (g.grantee !== null) {
      const exists = await admin.maybeOne('SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [g.grantee]);
      if (!exists) {
        missing.push(g.grantee);
        continue;
      }
    }
    await admin.change(grantConnectSql(database, g));
  }
  return missing;
}

async function revokeAll(admin: Db, database: string, grants: Grant[]): Promise<void> {
  for (const g of grants) {
    await admin.change(`REVOKE CONNECT ON DATABASE ${quoteIdent(database)} FROM ${granteeSql(g)}${cascadeSql(g)}`);
  }
}

async function setReadOnly(admin: Db, database: string, before: string | null | 'on'): Promise<void> {
  await admin.change(readOnlySql(database, before));
}

/** Undo a fence on its own cluster from its record (used by undo, by rollback, and after a crash). */
export async function undoRecordedFence(admin: Db, rec: FenceRecord): Promise<void> {
  if (rec.method === 'revoke' && rec.revoked.length) await grantBack(admin, rec.database, rec.revoked);
  if (rec.method === 'readonly') await setReadOnly(admin, rec.database, rec.readonlyBefore);
}

/** PgBouncer's name for a database: switchover.pgbouncer.database, else the database's own name. */
export function bouncerNameOf(config: Config | undefined, database: string): string {
  return config?.switchover.pgbouncer?.database ?? database;
}

/**
 * The SQL a person can run to lift a fence by hand. For pgbouncer it is a
 * command for PgBouncer's admin console (a comment line says where), named
 * as PgBouncer knows the database: pass the config when it may differ.
 */
export function manualUnfenceSql(rec: FenceRecord, config?: Config): string[] {
  if (rec.method === 'revoke') return rec.revoked.map((g) => `${grantConnectSql(rec.database, g)};`);
  if (rec.method === 'readonly') return [`${readOnlySql(rec.database, rec.readonlyBefore)};`];
  if (rec.method === 'pgbouncer') {
    // A finished run resumed PgBouncer (towards the other side): nothing is paused any more.
    if (rec.phase === 'done') return [];
    const admin = config?.switchover.pgbouncer?.admin;
    return [`-- on the PgBouncer admin console${admin ? ` (${describeConn(admin)})` : ''}:`, `RESUME ${bouncerIdent(bouncerNameOf(config, rec.database))};`];
  }
  return ['-- run your switchover.command.resume command'];
}

const revoke: PauseMethodImpl = {
  name: 'revoke',
  terminates: true,
  async pause(ctx) {
    const me = await ctx.admin.one<{ u: string; su: boolean }>('SELECT current_user::text AS u, (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS su');
    // pgshift must still be able to connect after the revoke (a re-run after a crash needs it).
    if (!me.su) await ctx.admin.change(`GRANT CONNECT ON DATABASE ${quoteIdent(ctx.database)} TO ${quoteIdent(me.u)}`);
    const grants = (await connectGrants(ctx.admin, ctx.database)).filter((g) => g.grantee !== me.u);
    // Merge with what an earlier, interrupted attempt already revoked, so nothing is forgotten.
    const known = new Set(ctx.record.revoked.map((g) => g.grantee ?? ''));
    ctx.record.revoked = [...ctx.record.revoked, ...grants.filter((g) => !known.has(g.grantee ?? ''))];
    await updateFence(ctx.admin, ctx.database, { revoked: ctx.record.revoked });
    await revokeAll(ctx.admin, ctx.database, grants);
    const supers = await ctx.admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity a JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid WHERE a.datname = $1 AND r.rolsuper AND a.backend_type = 'client backend' AND a.usename <> current_user",
      [ctx.database],
    );
    if ((supers[0]?.n ?? 0) > 0) {
      ctx.emit(warning('superuser_sessions', `${supers[0]!.n} superuser session(s) on ${ctx.database}: superusers bypass CONNECT privileges, so they are terminated but could reconnect; the fence proof still waits for them to stop writing`));
    }
  },
  async resume(ctx) {
    const missing = await grantBack(ctx.otherAdmin, ctx.database, ctx.record.revoked);
    if (missing.length) ctx.emit(warning('connect_grantees_missing', `CONNECT not granted on the ${otherSide(ctx.side)} to roles that do not exist there: ${missing.join(', ')}`));
  },
  async undo(ctx) {
    await undoRecordedFence(ctx.admin, ctx.record);
  },
};

const readonly: PauseMethodImpl = {
  name: 'readonly',
  terminates: true,
  async pause(ctx) {
    const row = await ctx.admin.maybeOne<{ value: string }>(sqlFile('fence-readonly-setting'), [ctx.database]);
    ctx.record.readonlyBefore = row?.value ?? null;
    await updateFence(ctx.admin, ctx.database, { readonlyBefore: ctx.record.readonlyBefore });
    await setReadOnly(ctx.admin, ctx.database, 'on');
  },
  async resume() {
    // The other side was never made read-only by this fence; nothing to give back there.
  },
  async undo(ctx) {
    await undoRecordedFence(ctx.admin, ctx.record);
  },
};

function bouncerConfig(ctx: FenceContext): BouncerConfig {
  const cfg = ctx.config.switchover.pgbouncer;
  if (!cfg) throw new ConfigError(ctx.config.file, 'switchover.pgbouncer', 'required for pause: pgbouncer (admin: connection string to the admin console, config: path of pgbouncer.ini)');
  return cfg;
}

function bouncerName(ctx: FenceContext): string {
  return bouncerNameOf(ctx.config, ctx.database);
}

async function withConsole<T>(cfg: BouncerConfig, fn: (c: BouncerConsole) => Promise<T>): Promise<T> {
  const c = await BouncerConsole.open(cfg);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}

async function bouncerPointAt(ctx: FenceContext, side: Side): Promise<void> {
  const cfg = bouncerConfig(ctx);
  if (!cfg.config) throw new ConfigError(ctx.config.file, 'switchover.pgbouncer.config', 'required: the path of pgbouncer.ini, whose [databases] entry pgshift repoints');
  const conn = side === 'source' ? ctx.config.source.conn : ctx.config.target.conn;
  repointConfigFile(cfg.config, bouncerName(ctx), entryFor(conn, ctx.database));
}

/** What bouncerPointAt would write, for a dry run's plan (entryFor carries no password). */
function entryPlan(ctx: FenceContext, side: Side): string {
  const conn = side === 'source' ? ctx.config.source.conn : ctx.config.target.conn;
  const e = entryFor(conn, ctx.database);
  return `point the [databases] entry ${bouncerName(ctx)} in ${bouncerConfig(ctx).config ?? 'pgbouncer.ini'} at the ${side}: host=${e.host} port=${e.port} dbname=${e.dbname} (other settings of the entry kept; written atomically)`;
}

/** Run fn on the console prepared before the pause, else on one opened for it. */
async function onConsole<T>(ctx: FenceContext, fn: (c: BouncerConsole) => Promise<T>): Promise<T> {
  return ctx.bouncer ? fn(ctx.bouncer) : withConsole(bouncerConfig(ctx), fn);
}

/**
 * Before PAUSE: no server connection of the database may be logging in.
 * PgBouncer (checked on 1.18) closes a paused database's server connections
 * every loop, those still logging in too, and takes such a closed login for a
 * failed one: until server_login_retry (15 s by default) has passed it opens
 * no new server connection for the pool, so the clients queued in the pause
 * wait that long after RESUME, and a client whose query arrives then, with no
 * server connection left, is disconnected ("server login has been failing").
 * Two things open logins: a pool still growing (or replacing a connection),
 * which this waits out, and the janitor topping a pool up to min_pool_size
 * (every 1/3 s, a per-database PAUSE does not stop it), which pause() holds
 * off with min_pool_size = 0 for the time writes are paused.
 */
async function waitForNoServerLogin(c: BouncerConsole, name: string, deadline: Deadline): Promise<void> {
  while ((await c.serverLogins(name)) > 0) {
    if (pastDeadline(deadline)) throw new PauseTimeout(`PgBouncer kept logging in new server connections for ${name} (a pool still growing?); pausing it then would make PgBouncer refuse new server connections for server_login_retry`);
    await sleep(1);
  }
}

const pgbouncer: PauseMethodImpl = {
  name: 'pgbouncer',
  terminates: false,
  async prepare(ctx) {
    const c = ctx.bouncer;
    if (c) ctx.bouncerMinPool = (await c.database(bouncerName(ctx)))?.minPoolSize;
  },
  async pause(ctx, deadline) {
    const cfg = bouncerConfig(ctx);
    const plan = ctx.admin.dryRun;
    if (plan) {
      // A dry run (src/pg/dry-run.ts): what the code below does, in its order, recorded.
      const name = bouncerName(ctx);
      if ((ctx.bouncerMinPool ?? 0) > 0 && cfg.config) {
        plan.pgbouncer(ctx.side, name, undefined, `set min_pool_size = 0 on the [databases] entry ${name} in ${cfg.config} (now ${ctx.bouncerMinPool}; put back when writes resume)`);
        plan.pgbouncer(ctx.side, name, 'RELOAD;');
      }
      plan.pgbouncer(ctx.side, name, `PAUSE ${bouncerIdent(name)};`, 'once no server login of it is in flight; returns when its clients have finished their transactions');
      ctx.pausedHere = true;
      return;
    }
    const console = ctx.bouncer ?? await BouncerConsole.open(cfg);
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    try {
      const name = bouncerName(ctx);
      const minPool = ctx.bouncerMinPool ?? (await console.database(name))?.minPoolSize ?? 0;
      if (minPool > 0 && cfg.config) {
        // Put back, with the rest of the entry, by the repoint of the resume or the undo.
        holdEntryParams(cfg.config, name, { min_pool_size: '0' });
        await console.command('RELOAD');
        ctx.emit({ type: 'info', message: `PgBouncer: min_pool_size of ${name} (${minPool}) held at 0 in ${cfg.config} while writes are paused (a connection it opened in the pause would stall its clients for server_login_retry); put back when writes resume` });
      }
      await waitForNoServerLogin(console, name, deadline);
      // PAUSE returns once every in-flight transaction has finished and the
      // server connections are released; new transactions queue in PgBouncer.
      const paused = console.command(`PAUSE ${bouncerIdent(name)}`);
      // The deadline is looked at every few ms: a shared budget can end early.
      const timeout = new Promise<never>((_, reject) => {
        timer = setInterval(() => {
          if (!pastDeadline(deadline)) return;
          late = true;
          reject(new PauseTimeout('PgBouncer PAUSE did not return in time (a long transaction is still running)'));
        }, 2);
      });
      await Promise.race([paused, timeout]);
      ctx.pausedHere = true;
    } finally {
      clearInterval(timer);
      // A console with a PAUSE still pending answers nothing else: the undo opens a new one.
      if (late || !ctx.bouncer) {
        await console.close();
        if (console === ctx.bouncer) ctx.bouncer = undefined;
      }
    }
  },
  async resume(ctx) {
    const [resumed] = await pgbouncer.resumeAll!([ctx]);
    if (resumed?.status === 'rejected') throw resumed.reason;
  },
  async resumeAll(ctxs) {
    const plan = ctxs[0]!.admin.dryRun;
    if (plan) {
      // A dry run: what the code below does, recorded (pgbouncer.ini is not touched).
      for (const ctx of ctxs) plan.pgbouncer(otherSide(ctx.side), bouncerName(ctx), undefined, entryPlan(ctx, otherSide(ctx.side)));
      plan.pgbouncer(otherSide(ctxs[0]!.side), bouncerName(ctxs[0]!), 'RELOAD;');
      for (const ctx of ctxs) plan.pgbouncer(otherSide(ctx.side), bouncerName(ctx), `RESUME ${bouncerIdent(bouncerName(ctx))};`);
      return ctxs.map(() => ({ status: 'fulfilled', value: undefined }));
    }
    // Every entry first (each write atomic), then one RELOAD reads them all.
    for (const ctx of ctxs) await bouncerPointAt(ctx, otherSide(ctx.side));
    await onConsole(ctxs[0]!, (c) => c.command('RELOAD'));
    return Promise.allSettled(ctxs.map((ctx) => onConsole(ctx, async (c) => {
      // A run finishing an interrupted one may find PgBouncer already resumed.
      if (ctx.pausedHere || (await c.isPaused(bouncerName(ctx))) !== false) await c.command(`RESUME ${bouncerIdent(bouncerName(ctx))}`);
    })));
  },
  async drain(ctx, maxMs) {
    const t0 = performance.now();
    if (ctx.admin.dryRun) return { ms: 0, drained: true };
    const name = bouncerName(ctx);
    return onConsole(ctx, async (c) => {
      while (true) {
        const q = await c.queue(name);
        if (q.waiting === 0 && q.logins === 0) return { ms: performance.now() - t0, drained: true };
        if (performance.now() - t0 > maxMs) return { ms: performance.now() - t0, drained: false };
        await sleep(5);
      }
    });
  },
  async undo(ctx) {
    const cfg = bouncerConfig(ctx);
    const plan = ctx.admin.dryRun;
    if (plan) {
      if (cfg.config) plan.pgbouncer(ctx.side, bouncerName(ctx), undefined, entryPlan(ctx, ctx.side));
      if (cfg.config) plan.pgbouncer(ctx.side, bouncerName(ctx), 'RELOAD;');
      plan.pgbouncer(ctx.side, bouncerName(ctx), `RESUME ${bouncerIdent(bouncerName(ctx))};`, 'if PgBouncer has it paused');
      return;
    }
    if (cfg.config) await bouncerPointAt(ctx, ctx.side);
    await onConsole(ctx, async (c) => {
      if (cfg.config) await c.command('RELOAD');
      const paused = await c.isPaused(bouncerName(ctx));
      if (paused !== false) await c.command(`RESUME ${bouncerIdent(bouncerName(ctx))}`).catch((e: Error) => {
        // "database is not paused" after a cancelled PAUSE is fine.
        if (!/not paused/i.test(e.message)) throw e;
      });
    });
  },
};

/** Run a user command through the shell with a timeout; connection details in the environment, passwords never in argv. */
export async function runUserCommand(ctx: FenceContext, which: 'pause' | 'resume', writesTo: Side, timeoutMs: number): Promise<void> {
  const cmd = ctx.config.switchover.command;
  if (!cmd) throw new ConfigError(ctx.config.file, 'switchover.command', 'required for pause: command (pause: ..., resume: ...)');
  const text = which === 'pause' ? cmd.pause : cmd.resume;
  if (ctx.admin.dryRun) {
    ctx.admin.dryRun.command(ctx.side, ctx.database, ['sh', '-c', text], `with PGSHIFT_DATABASE=${ctx.database} PGSHIFT_ACTION=${which} PGSHIFT_WRITES_TO=${writesTo} and the PG* variables of both sides in its environment; timeout ${Math.round(timeoutMs)} ms`);
    return;
  }
  const env = {
    ...process.env,
    ...endpointEnv('source', ctx.config.source),
    ...endpointEnv('target', ctx.config.target),
    PGSHIFT_DATABASE: ctx.database,
    PGSHIFT_ACTION: which,
    PGSHIFT_WRITES_TO: writesTo,
  };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(text, { shell: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new PauseTimeout(`the ${which} command did not finish within ${Math.round(timeoutMs)} ms`));
    }, Math.max(1, timeoutMs));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new ProblemError('command_failed', `the ${which} command could not start: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new ProblemError('command_failed', `the ${which} command exited with ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`, {
        hint: `Fix switchover.command.${which} in ${ctx.config.file}; run it by hand with "pgshift exec -- sh -c '...'" to test it.`,
      }));
    });
  });
}

const command: PauseMethodImpl = {
  name: 'command',
  terminates: false,
  async pause(ctx, deadline) {
    const cmd = ctx.config.switchover.command;
    await runUserCommand(ctx, 'pause', ctx.side, Math.min(cmd?.timeoutMs ?? 30_000, msLeft(deadline)));
  },
  async resume(ctx) {
    await runUserCommand(ctx, 'resume', otherSide(ctx.side), ctx.config.switchover.command?.timeoutMs ?? 30_000);
  },
  async undo(ctx) {
    await runUserCommand(ctx, 'resume', ctx.side, ctx.config.switchover.command?.timeoutMs ?? 30_000);
  },
};

export const PAUSE_IMPLS: Record<PauseMethod, PauseMethodImpl> = { pgbouncer, revoke, readonly, command };
