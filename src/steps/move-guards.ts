// What switchover and rollback check before moveWrites (src/switchover/)
// starts, beside its own preflight: transactions on the side whose writes
// pause that are older than max_pause (refused unless forced, preflight.ts),
// and, for a switchover, replicated tables the target never analyzed (a
// warning: the first queries on the target would be planned without
// statistics; "pgshift analyze" gathers them).
// An earlier run's fence record means moveWrites must finish or undo that
// run, which it decides: these checks stand aside then.
// Several databases moving in one pause are checked all at once, and all
// must pass (guardMoves). Read-only.

import type { Config } from '../config/config.js';
import { databaseConfig } from '../config/config.js';
import { silent, warnEvent, type Emit } from '../events.js';
import { problem, type Problem } from '../problems.js';
import { connect, maintenanceDb, type Side } from '../pg/connect.js';
import { readFence, type Direction } from '../switchover/state.js';
import { refuseLongTransactions } from '../checks/preflight.js';
import { tablesNeverAnalyzed } from './analyze.js';

export interface MoveGuardOptions {
  maxPauseMs?: number;
  /** Go ahead despite transactions older than max_pause. */
  force?: boolean;
  emit?: Emit;
}

const endpoint = (config: Config, side: Side) => (side === 'source' ? config.source : config.target);

/** An earlier run of either direction left a fence record that moveWrites must deal with. */
async function earlierRun(config: Config, database: string, direction: Direction, from: Side, to: Side): Promise<boolean> {
  for (const side of [from, to]) {
    const admin = await connect(side, endpoint(config, side), { database: maintenanceDb(config, side, database), applicationName: 'pgshift preflight' });
    try {
      const rec = await readFence(admin, database);
      if (rec && (rec.phase !== 'done' || (side === from && rec.direction === direction))) return true;
    } finally {
      await admin.close();
    }
  }
  return false;
}

/** Run the checks; returns the warnings (also emitted). Throws SafetyError on a transaction older than max_pause unless forced. */
export async function guardMove(config: Config, database: string, direction: Direction, opts: MoveGuardOptions = {}): Promise<Problem[]> {
  databaseConfig(config, database);
  const emit = opts.emit ?? silent;
  const [from, to]: [Side, Side] = direction === 'switchover' ? ['source', 'target'] : ['target', 'source'];
  if (await earlierRun(config, database, direction, from, to)) return [];
  const maxPauseMs = opts.maxPauseMs ?? config.switchover.maxPauseMs;
  const warnings: Problem[] = [];
  const warn = (w: Problem): void => {
    warnings.push(w);
    emit(warnEvent(w));
  };
  if (direction === 'switchover') {
    const target = await connect('target', config.target, { database, applicationName: 'pgshift preflight' });
    try {
      const never = await tablesNeverAnalyzed(config, database, target);
      if (never.length) {
        warn(problem('tables_never_analyzed', `${never.length} replicated table(s) were never analyzed on the target, so its planner has no statistics for them: ${never.slice(0, 10).join(', ')}${never.length > 10 ? ', ...' : ''}`,
          `run "pgshift analyze ${database}" before the switchover`));
      }
    } finally {
      await target.close();
    }
  }
  const fromDb = await connect(from, endpoint(config, from), { database, applicationName: 'pgshift preflight' });
  try {
    for (const w of await refuseLongTransactions(fromDb, database, `${direction} ${database}`, maxPauseMs, opts.force === true)) warn(w);
  } finally {
    await fromDb.close();
  }
  return warnings;
}

/** The checks of every database of one move, at once; any refusal refuses the move (each database's warnings by name). */
export async function guardMoves(config: Config, databases: string[], direction: Direction, opts: MoveGuardOptions = {}): Promise<Map<string, Problem[]>> {
  const settled = await Promise.allSettled(databases.map((d) => guardMove(config, d, direction, opts)));
  const refused = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (refused.length) throw refused[0];
  return new Map(databases.map((d, i) => [d, (settled[i] as PromiseFulfilledResult<Problem[]>).value]));
}
