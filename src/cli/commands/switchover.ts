import type { Command, CommandContext } from '../command.js';
import { DB_ARG, namedDatabases, flagDuration, flagString, oneDatabase } from '../command.js';
import { switchover } from '../../steps/switchover.js';
import { EXIT, UsageError } from '../../errors.js';
import { PAUSE_METHODS, type PauseMethod } from '../../config/config.js';
import type { MoveResult } from '../../switchover/move-writes.js';
import { formatDuration } from '../../util/duration.js';
import { METRICS_FLAG } from '../observe.js';

export function renderMove(ctx: CommandContext, r: MoveResult): void {
  if (ctx.json) {
    ctx.out.writeJson({ ok: true, ...r });
    return;
  }
  const verb = r.direction === 'switchover' ? 'switchover' : 'rollback';
  if (r.outcome === 'already-done') {
    ctx.out.line(`${verb} of ${r.database}: already done`);
    return;
  }
  if (r.outcome === 'undone-interrupted') {
    const [other, side] = r.direction === 'rollback' ? ['switchover', 'source'] : ['rollback', 'target'];
    ctx.out.line(`${verb} of ${r.database}: the fence an interrupted ${other} left on the ${side} was lifted; writes go to the ${side} again`);
    return;
  }
  ctx.out.line('');
  ctx.out.line(`${verb} of ${r.database} ${r.outcome === 'finished-interrupted' ? '(finishing an interrupted run) ' : ''}done: writes now go to the ${r.direction === 'switchover' ? 'target' : 'source'}`);
  ctx.out.line('  phase                  time       ');
  for (const p of r.timeline.phases) {
    ctx.out.line(`  ${(p.inPause ? '* ' : '  ') + p.phase.padEnd(20)} ${formatDuration(p.ms).padStart(8)}  ${p.message ?? ''}`);
  }
  if (r.pauseMs !== undefined) ctx.out.line(`  write pause (* phases): ${ctx.out.paint(formatDuration(r.pauseMs), 'bold')} (${r.method})`);
  if (r.sequences) ctx.out.line(`  sequences set: ${r.sequences.set}`);
  if (r.copied?.length) ctx.out.line(`  copied while paused: ${r.copied.map((c) => `${c.table} (${c.rows} rows)`).join(', ')}`);
  if (r.largeObjects) ctx.out.line(`  large objects copied: ${r.largeObjects}`);
  if (r.direction === 'switchover') {
    if (!r.reverse) {
      ctx.out.line('  no reverse replication (--no-reverse): a rollback would lose writes made on the target');
    } else if (r.reverseVerified === false) {
      ctx.out.line(ctx.out.paint(`  reverse replication target -> source is NOT working: ${r.reverseProblem ?? 'unknown'}`, 'yellow'));
      ctx.out.line(`  a rollback cannot carry the target's writes until it is fixed; "pgshift status ${r.database}" shows it`);
    } else if (r.reverseVerified) {
      ctx.out.line(`  reverse replication target -> source is running and verified (the source applied the target's changes up to the switchover): "pgshift rollback ${r.database}" moves writes back, nothing lost`);
    } else {
      ctx.out.line(`  reverse replication target -> source was started: "pgshift status ${r.database}" shows whether it streams`);
    }
  } else if (r.reverse && r.reverseVerified === false) {
    ctx.out.line(ctx.out.paint(`  replication source -> target was started again but is NOT working: ${r.reverseProblem ?? 'unknown'}`, 'yellow'));
  } else if (r.reverse) {
    ctx.out.line(`  replication source -> target runs again (from the rollback's fence): "pgshift switchover ${r.database}" moves writes to the target once more, without a new copy`);
  } else {
    ctx.out.line('  no replication source -> target afterwards (--no-reverse): a later switchover needs "pgshift cleanup" and a new "pgshift start"');
  }
}

export const command: Command = {
  name: 'switchover',
  usage: 'switchover DB [--pause M] [--max-pause D] [--force] [--no-reverse] [--metrics HOST:PORT]',
  summary: 'move writes to the target (sub-second pause, reversible)',
  args: [DB_ARG],
  locks: namedDatabases,
  flags: {
    pause: { type: 'string', value: 'METHOD', description: 'how writes are paused: pgbouncer, revoke, readonly or command', default: 'switchover.pause in the config, else revoke' },
    force: { type: 'boolean', description: 'go ahead although a transaction on the source has been open longer than max_pause (the pause waits for it, or the revoke fence ends it)' },
    'max-pause': { type: 'string', value: 'D', description: 'give the writes back to the source if catching up takes longer', default: 'switchover.max_pause in the config, else 5s' },
    'no-reverse': { type: 'boolean', description: 'no reverse replication target -> source afterwards (a rollback would lose writes)' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'switchover');
    const pause = flagString(ctx, 'pause');
    if (pause !== undefined && !PAUSE_METHODS.includes(pause as PauseMethod)) {
      throw new UsageError(`--pause: expected one of ${PAUSE_METHODS.join(', ')}, found "${pause}"`);
    }
    const config = ctx.config();
    if (!(await ctx.confirm(`Move writes for ${database} to the target? Writes pause while the target catches up.`))) return EXIT.problem;
    const r = await switchover(config, database, {
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
