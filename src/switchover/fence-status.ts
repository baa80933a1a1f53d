// What a person needs to know about a fence pgshift left in place: which
// side's writes are paused, by what, whether the run that paused them had
// passed its point of no return, and exactly how to undo it. Used by the
// errors of switchover and rollback (while pgshift is alive to say it) and by
// `status` (after pgshift was killed and could say nothing).

import type { Config } from '../config/config.js';
import { describeConn, type ConnParams } from '../config/conninfo.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import { PgshiftError } from '../errors.js';
import { bouncerNameOf, manualUnfenceSql } from './pause.js';
import { BouncerConsole, entryFor } from './pgbouncer-admin.js';
import { readFence, type Direction, type FencePhase, type FenceRecord } from './state.js';

/** One side's fence record, in the shape `status --json` reports it. */
export interface FenceInfo {
  side: Side;
  /** switchover fences the source, rollback the target. */
  direction: Direction;
  method: FenceRecord['method'];
  phase: FencePhase;
  since: string;
  /** The run that set it did not finish (any phase but done): a problem until it is finished or undone. */
  interrupted: boolean;
  /** What happened and what to run next, in words. */
  message: string;
  /** SQL that lifts the fence by hand, on this side (empty when lifting it by hand is not safe); for pgbouncer, the admin console command. */
  undoSql: string[];
  /** pgbouncer fences of an interrupted run: PgBouncer as status found it. */
  pgbouncer?: BouncerLook;
}

/** PgBouncer's live state for the fenced database (SHOW DATABASES on its admin console). */
export interface BouncerLook {
  /** PgBouncer's name for the database. */
  name: string;
  /** Paused now; null when it could not be told. */
  paused: boolean | null;
  /** The side it sends the database's clients to ("elsewhere": neither endpoint's host and port). */
  pointsAt: Side | 'elsewhere' | null;
  /** host:port it sends them to. */
  server: string | null;
  /** Why PgBouncer could not be asked, or has no such database. */
  error?: string;
}

/** Ask PgBouncer's admin console how it stands for a database (never throws: status must still report the fence). */
export async function lookAtBouncer(config: Config, database: string): Promise<BouncerLook | undefined> {
  const cfg = config.switchover.pgbouncer;
  if (!cfg) return undefined;
  const name = bouncerNameOf(config, database);
  let c: BouncerConsole | undefined;
  try {
    c = await BouncerConsole.open(cfg);
    const d = await c.database(name);
    if (!d) return { name, paused: null, pointsAt: null, server: null, error: `PgBouncer has no database "${name}"` };
    const at = (conn: ConnParams): boolean => {
      const e = entryFor(conn, database);
      return e.host === d.host && e.port === d.port;
    };
    const pointsAt = at(config.source.conn) ? 'source' : at(config.target.conn) ? 'target' : 'elsewhere';
    return { name, paused: d.paused, pointsAt, server: `${d.host}:${d.port}` };
  } catch (e) {
    return { name, paused: null, pointsAt: null, server: null, error: (e as Error).message };
  } finally {
    await c?.close();
  }
}

function bouncerText(b: BouncerLook | undefined): string {
  if (!b) return '';
  if (b.error) return ` PgBouncer could not be asked how it stands (${b.error}): look at its admin console (SHOW DATABASES).`;
  const to = b.pointsAt === 'elsewhere' || b.pointsAt === null ? `${b.server ?? '?'}` : `${b.pointsAt} (${b.server ?? '?'})`;
  return b.paused
    ? ` PgBouncer holds "${b.name}" paused: its clients wait there (until its query_wait_timeout, then they fail), and go to the ${to} once it is resumed.`
    : ` PgBouncer is not paused and sends "${b.name}" to the ${to}.`;
}

function sideOf(direction: Direction): Side {
  return direction === 'switchover' ? 'source' : 'target';
}

function opposite(direction: Direction): Direction {
  return direction === 'switchover' ? 'rollback' : 'switchover';
}

/** A command line for the user, with the config file pgshift was given. */
function cmd(config: Config, verb: string, database: string): string {
  return `pgshift -c ${config.file} ${verb} ${database}`;
}

/**
 * How to get out of the state a fence record describes. Before the point of
 * no return the feeding subscription still runs, so the fence can simply be
 * lifted (by pgshift or by hand); after it, lifting it by hand would let two
 * sides take writes with replication half turned around, so the only advice
 * is to let pgshift finish.
 */
export function describeFence(config: Config, rec: FenceRecord, bouncer?: BouncerLook): { message: string; undoSql: string[] } {
  const side = sideOf(rec.direction);
  const other = side === 'source' ? 'target' : 'source';
  const db = rec.database;
  const fenced = rec.method === 'pgbouncer'
    ? `the ${side} database "${db}" is fenced (its clients paused in PgBouncer)`
    : `the ${side} database "${db}" is fenced (writes paused by ${rec.method})`;
  const moveBack = rec.direction === 'switchover' ? `; "${cmd(config, 'rollback', db)}" moves them back` : '';
  if (rec.phase === 'done') {
    if (rec.method === 'pgbouncer') {
      // PAUSE/RESUME acts in PgBouncer only: the old side itself takes any
      // client that connects to it directly.
      return {
        message: `the ${side} database "${db}" was left by a finished ${rec.direction} through PgBouncer, which sends its clients to the ${other}: writes go to the ${other}${moveBack}. `
          + `The ${side} itself is not fenced: a client connecting to it directly, around PgBouncer, could still write there, and that write would not reach the ${other}`,
        undoSql: [],
      };
    }
    return { message: `${fenced} after a finished ${rec.direction}: writes go to the ${other}${moveBack}`, undoSql: manualUnfenceSql(rec, config) };
  }
  if (rec.phase === 'committed') {
    // Killed after PgBouncer was resumed towards the other side: writes already flow there.
    const resumed = rec.method === 'pgbouncer' && bouncer?.paused === false && bouncer.pointsAt === other;
    return {
      message: `${fenced} by a ${rec.direction} that stopped after its point of no return`
        + (resumed ? `, after PgBouncer was resumed: writes go to the ${other}, and the ${rec.direction} is not finished (replication back to the ${side} may not run yet). `
          : rec.method === 'pgbouncer' && bouncer?.paused ? ': no side takes writes until it is finished. '
            : `: writes resume on the ${other} right after that point, so they may go there already, or no side takes them until it is finished; replication back to the ${side} may not run yet. `)
        + `Run "${cmd(config, rec.direction, db)}" to finish it${rec.direction === 'switchover' ? `, then "${cmd(config, 'rollback', db)}" if you want the writes back on the source` : ''}.`
        + bouncerText(bouncer),
      undoSql: [],
    };
  }
  const sql = manualUnfenceSql(rec, config);
  const byHand = rec.method === 'pgbouncer'
    ? `By hand, on the PgBouncer admin console${config.switchover.pgbouncer ? ` (${describeConnOf(config)})` : ''}: ${sql.filter((l) => !l.startsWith('--')).join(' ')}`
    : `By hand, on the ${side}: ${sql.join(' ')}`;
  return {
    message: `${fenced} by a ${rec.direction} that stopped before its point of no return; the ${other} does not take writes either. `
      + `Run "${cmd(config, rec.direction, db)}" to do the ${rec.direction} again, or "${cmd(config, opposite(rec.direction), db)}" to give the ${side} its writes back. `
      + byHand + bouncerText(bouncer),
    undoSql: sql,
  };
}

function describeConnOf(config: Config): string {
  return describeConn(config.switchover.pgbouncer!.admin);
}

/** The hint of an error raised while a fence is in place. */
export function unfenceHint(config: Config, rec: FenceRecord): string {
  const d = describeFence(config, rec);
  return d.message.charAt(0).toUpperCase() + d.message.slice(1);
}

/**
 * Reads the fence records of a database on both sides, keeping its two
 * maintenance-database connections between looks (status --watch and wait
 * look every second). Read-only.
 */
export class FenceWatch {
  private admins: Partial<Record<Side, Db | null>> = {};

  constructor(readonly config: Config, readonly database: string) {}

  private async admin(side: Side): Promise<Db | null> {
    const have = this.admins[side];
    if (have !== undefined) return have;
    try {
      this.admins[side] = await connect(side, side === 'source' ? this.config.source : this.config.target, {
        database: maintenanceDb(this.config, side, this.database), applicationName: 'pgshift-status',
      });
    } catch (e) {
      if (!(e instanceof PgshiftError && e.code === 'no_database')) throw e;
      this.admins[side] = null;
    }
    return this.admins[side]!;
  }

  private async side(side: Side): Promise<FenceInfo | null> {
    const admin = await this.admin(side);
    if (!admin) return null;
    let rec: FenceRecord | undefined;
    try {
      rec = await readFence(admin, this.database);
    } catch (e) {
      // A broken connection: the next look connects again.
      delete this.admins[side];
      await admin.close().catch(() => undefined);
      throw e;
    }
    if (!rec) return null;
    // Whether PgBouncer still holds the clients paused, and where it sends them, is PgBouncer's to say.
    const bouncer = rec.method === 'pgbouncer' && rec.phase !== 'done' ? await lookAtBouncer(this.config, this.database) : undefined;
    const d = describeFence(this.config, rec, bouncer);
    return {
      side, direction: rec.direction, method: rec.method, phase: rec.phase, since: rec.startedAt,
      interrupted: rec.phase !== 'done', message: d.message, undoSql: d.undoSql, ...(bouncer ? { pgbouncer: bouncer } : {}),
    };
  }

  async look(): Promise<{ source: FenceInfo | null; target: FenceInfo | null }> {
    return { source: await this.side('source'), target: await this.side('target') };
  }

  async close(): Promise<void> {
    const all = Object.values(this.admins).filter((d): d is Db => Boolean(d));
    this.admins = {};
    await Promise.all(all.map((d) => d.close()));
  }
}

/** Problems for `status`: a fence an interrupted run left (a finished run's fence is the expected state). */
export function fenceProblems(f: { source: FenceInfo | null; target: FenceInfo | null }): string[] {
  return [f.source, f.target].filter((x): x is FenceInfo => x !== null && x.interrupted).map((x) => x.message);
}
