// Step "switchover": move writes from the source to the target with a
// sub-second pause (see src/switchover/move-writes.ts for the phases).
// Needs: forward replication running and caught up ("pgshift start", "wait").
// Before it: the guards of move-guards.ts (transactions older than
// max_pause on the source refuse it unless forced; tables never analyzed on
// the target are named).
// Idempotent by looking at the clusters: a fence record on the source says an
// earlier run paused writes; before its point of no return (the forward
// subscription still enabled) that fence is undone and the switchover starts
// again; after it, the run is finished; when it is done, nothing happens.
// Several databases: switchoverMany, one pause for all (move-writes.ts).
// Undo: "pgshift rollback DB".

import type { Config } from '../config/config.js';
import { moveMany, moveWrites, type MoveGroupResult, type MoveOptions, type MoveResult } from '../switchover/move-writes.js';
import type { Problem } from '../problems.js';
import { guardMove, guardMoves } from './move-guards.js';

export type SwitchoverOptions = MoveOptions & {
  /** Go ahead despite source transactions open longer than max_pause. */
  force?: boolean;
};
export type SwitchoverResult = MoveResult;

export async function switchover(config: Config, database: string, opts: SwitchoverOptions = {}): Promise<SwitchoverResult> {
  const warnings = await guardMove(config, database, 'switchover', opts);
  const r = await moveWrites(config, database, 'switchover', opts);
  return { ...r, warnings: [...warnings, ...r.warnings] };
}

/** Switch several databases over in one pause: every guard first (all must pass), then all of them or none before the commit point. */
export async function switchoverMany(config: Config, databases: string[], opts: SwitchoverOptions = {}): Promise<MoveGroupResult> {
  const warnings = await guardMoves(config, databases, 'switchover', opts);
  return withGuardWarnings(await moveMany(config, databases, 'switchover', opts), warnings);
}

/** Each database's result with the warnings its guards gave. */
export function withGuardWarnings(r: MoveGroupResult, warnings: Map<string, Problem[]>): MoveGroupResult {
  return { ...r, databases: r.databases.map((d) => ({ ...d, warnings: [...(warnings.get(d.database) ?? []), ...d.warnings] })) };
}
