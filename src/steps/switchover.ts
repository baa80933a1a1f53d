// Step "switchover": move writes from the source to the target with a
// sub-second pause (see src/switchover/move-writes.ts for the phases).
// Needs: forward replication running and caught up ("pgshift start", "wait").
// Idempotent by looking at the clusters: a fence record on the source says an
// earlier run paused writes; before its point of no return (the forward
// subscription still enabled) that fence is undone and the switchover starts
// again; after it, the run is finished; when it is done, nothing happens.
// Undo: "pgshift rollback DB".

import type { Config } from '../config/config.js';
import { moveWrites, type MoveOptions, type MoveResult } from '../switchover/move-writes.js';

export type SwitchoverOptions = MoveOptions;
export type SwitchoverResult = MoveResult;

export async function switchover(config: Config, database: string, opts: SwitchoverOptions = {}): Promise<SwitchoverResult> {
  return moveWrites(config, database, 'switchover', opts);
}
