// Step "rollback": move writes back from the target to the source through
// the reverse replication a switchover started: pause on the target, wait
// until the source applied everything, sequences and unreplicated tables
// back, stop the reverse subscription (so nothing loops), give the source
// its writes back (undoing the switchover's fence there), resume.
// Also the way out of an interrupted switchover that never reached its
// point of no return: then it only undoes that fence on the source.
// Idempotent like switchover: a fence record on the target tells where an
// earlier rollback stopped.

import type { Config } from '../config/config.js';
import type { Emit } from '../events.js';
import { silent } from '../events.js';
import { moveWrites, undoUnfinishedSwitchover, type MoveOptions, type MoveResult } from '../switchover/move-writes.js';
import { Timeline } from '../switchover/timeline.js';

export async function rollback(config: Config, database: string, opts: Omit<MoveOptions, 'reverse'> = {}): Promise<MoveResult> {
  const emit: Emit = opts.emit ?? silent;
  const undone = await undoUnfinishedSwitchover(config, database, emit);
  if (undone) {
    return {
      database, direction: 'rollback', method: undone.method, outcome: 'undone-interrupted',
      timeline: new Timeline(emit).toJSON(), reverse: false, warnings: [],
    };
  }
  return moveWrites(config, database, 'rollback', { ...opts, reverse: false });
}
