// What a person needs to know about a fence pgshift left in place: which
// side's writes are paused, by what, whether the run that paused them had
// passed its point of no return, and exactly how to undo it. Used by the
// errors of switchover and rollback (while pgshift is alive to say it) and by
// `status` (after pgshift was killed and could say nothing).

import type { Config } from '../config/config.js';
import { connect, type Db, type Side } from '../pg/connect.js';
import { PgshiftError } from '../errors.js';
import { manualUnfenceSql } from './pause.js';
import { maintenanceDb, readFence, type Direction, type FencePhase, type FenceRecord } from './state.js';

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
  /** SQL that lifts the fence by hand, on this side (empty when lifting it by hand is not safe). */
  undoSql: string[];
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
export function describeFence(config: Config, rec: FenceRecord): { message: string; undoSql: string[] } {
  const side = sideOf(rec.direction);
  const other = side === 'source' ? 'target' : 'source';
  const db = rec.database;
  const fenced = `the ${side} database "${db}" is fenced (writes paused by ${rec.method})`;
  if (rec.phase === 'done') {
    return {
      message: `${fenced} after a finished ${rec.direction}: writes go to the ${other}`
        + (rec.direction === 'switchover' ? `; "${cmd(config, 'rollback', db)}" moves them back` : ''),
      undoSql: manualUnfenceSql(rec),
    };
  }
  if (rec.phase === 'committed') {
    return {
      message: `${fenced} by a ${rec.direction} that stopped after its point of no return: no side takes writes until it is finished. `
        + `Run "${cmd(config, rec.direction, db)}" to finish it${rec.direction === 'switchover' ? `, then "${cmd(config, 'rollback', db)}" if you want the writes back on the source` : ''}.`,
      undoSql: [],
    };
  }
  const sql = manualUnfenceSql(rec);
  return {
    message: `${fenced} by a ${rec.direction} that stopped before its point of no return; the ${other} does not take writes either. `
      + `Run "${cmd(config, rec.direction, db)}" to do the ${rec.direction} again, or "${cmd(config, opposite(rec.direction), db)}" to give the ${side} its writes back. `
      + `By hand, on the ${side}: ${sql.join(' ')}`,
    undoSql: sql,
  };
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
    const d = describeFence(this.config, rec);
    return {
      side, direction: rec.direction, method: rec.method, phase: rec.phase, since: rec.startedAt,
      interrupted: rec.phase !== 'done', message: d.message, undoSql: d.undoSql,
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
