import type { Command } from '../command.js';
import { DBS_ARG } from '../command.js';
import { MOVE_FLAGS, moveLocks, runMove } from './switchover.js';

export const command: Command = {
  name: 'rollback',
  usage: 'rollback DB... | --all [--pause M] [--max-pause D] [--force] [--no-reverse] [--dry-run] [--metrics HOST:PORT]',
  summary: 'move writes back to the source through reverse replication, several databases in one pause',
  args: [DBS_ARG],
  locks: moveLocks,
  flags: {
    ...MOVE_FLAGS('target'),
    'no-reverse': { type: 'boolean', description: 'do not start replication source -> target again afterwards (a later switchover then needs cleanup and a new start)' },
  },
  run: (ctx) => runMove(ctx, 'rollback'),
};
