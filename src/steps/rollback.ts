// Step "rollback": move writes back from the target to the source through
// the reverse replication a switchover started: pause on the target, wait
// until the source applied everything, sequences and unreplicated tables
// back, stop the reverse subscription (so nothing loops), give the source
// its writes back (undoing the switchover's fence there), resume.
// Afterwards forward replication runs again (source -> target, from the
// rollback's fence), so a later switchover needs no new initial copy.
// Needs: a finished switchover with reverse replication (refused otherwise).
// Also the way out of an interrupted switchover that never reached its
// point of no return: then it only lifts that fence on the source. One that
// passed it must be finished first ("pgshift switchover DB"), which the
// refusal says.
// Idempotent like switchover: a fence record on the target tells where an
// earlier rollback stopped (before its point of no return: undone and done
// again; after it: finished; done: nothing to do).
// Several databases: rollbackMany, one pause for all.
// Before it: the long-transaction guard of move-guards.ts, on the target
// (the side whose writes pause).

import type { Config } from '../config/config.js';
import { moveMany, moveWrites, type MoveGroupResult, type MoveOptions, type MoveResult } from '../switchover/move-writes.js';
import { guardMove, guardMoves } from './move-guards.js';
import { withGuardWarnings } from './switchover.js';

export type RollbackOptions = MoveOptions & {
  /** Go ahead despite target transactions open longer than max_pause. */
  force?: boolean;
};

export async function rollback(config: Config, database: string, opts: RollbackOptions = {}): Promise<MoveResult> {
  const warnings = await guardMove(config, database, 'rollback', opts);
  const r = await moveWrites(config, database, 'rollback', opts);
  return { ...r, warnings: [...warnings, ...r.warnings] };
}

/** Roll several databases back in one pause (as switchoverMany, the other way). */
export async function rollbackMany(config: Config, databases: string[], opts: RollbackOptions = {}): Promise<MoveGroupResult> {
  const warnings = await guardMoves(config, databases, 'rollback', opts);
  return withGuardWarnings(await moveMany(config, databases, 'rollback', opts), warnings);
}
