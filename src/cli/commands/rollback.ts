import type { Command } from '../command.js';
import { DB_ARG, namedDatabases, flagDuration, flagString, oneDatabase } from '../command.js';
import { rollback } from '../../steps/rollback.js';
import { EXIT, UsageError } from '../../errors.js';
import { PAUSE_METHODS, type PauseMethod } from '../../config/config.js';
import { renderMove } from './switchover.js';
import { METRICS_FLAG } from '../observe.js';

export const command: Command = {
  name: 'rollback',
  usage: 'rollback DB [--pause M] [--max-pause D] [--force] [--no-reverse] [--metrics HOST:PORT]',
  summary: 'move writes back to the source through reverse replication',
  args: [DB_ARG],
  locks: namedDatabases,
  flags: {
    pause: { type: 'string', value: 'METHOD', description: 'how writes are paused: pgbouncer, revoke, readonly or command', default: 'switchover.pause in the config, else revoke' },
    force: { type: 'boolean', description: 'go ahead although a transaction on the target has been open longer than max_pause (the pause waits for it, or the revoke fence ends it)' },
    'max-pause': { type: 'string', value: 'D', description: 'give the writes back to the target if catching up takes longer', default: 'switchover.max_pause in the config, else 5s' },
    'no-reverse': { type: 'boolean', description: 'do not start replication source -> target again afterwards (a later switchover then needs cleanup and a new start)' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'rollback');
    const pause = flagString(ctx, 'pause');
    if (pause !== undefined && !PAUSE_METHODS.includes(pause as PauseMethod)) {
      throw new UsageError(`--pause: expected one of ${PAUSE_METHODS.join(', ')}, found "${pause}"`);
    }
    const config = ctx.config();
    if (!(await ctx.confirm(`Move writes for ${database} back to the source?`))) return EXIT.problem;
    const r = await rollback(config, database, {
      pause: pause as PauseMethod | undefined,
      maxPauseMs: flagDuration(ctx, 'max-pause'),
      force: ctx.flags.force === true,
      reverse: ctx.flags['no-reverse'] === true ? false : undefined,
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
    });
    renderMove(ctx, r);
    return EXIT.ok;
  },
};
