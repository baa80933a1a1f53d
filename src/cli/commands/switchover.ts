import type { Command, CommandContext } from '../command.js';
import { DBS_ARG, namedDatabases, flagDuration, flagString, movedDatabases } from '../command.js';
import { switchover, switchoverMany } from '../../steps/switchover.js';
import { rollback, rollbackMany } from '../../steps/rollback.js';
import { EXIT, UsageError, type ExitCode } from '../../errors.js';
import { PAUSE_METHODS, type PauseMethod } from '../../config/config.js';
import type { MoveGroupResult, MoveResult } from '../../switchover/move-writes.js';
import type { Direction } from '../../switchover/state.js';
import type { Emit } from '../../events.js';
import { formatDuration } from '../../util/duration.js';
import { METRICS_FLAG } from '../observe.js';
import { DRY_RUN_FLAG, dryRunEmit, isDryRun, planJson, printPlan } from '../dry-run.js';
import { DryRun } from '../../pg/dry-run.js';

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
  renderCarried(ctx, r);
}

function renderCarried(ctx: CommandContext, r: MoveResult, indent = '  '): void {
  if (r.sequences) ctx.out.line(`${indent}sequences set: ${r.sequences.set}`);
  if (r.copied?.length) ctx.out.line(`${indent}copied while paused: ${r.copied.map((c) => `${c.table} (${c.rows} rows)`).join(', ')}`);
  if (r.largeObjects) ctx.out.line(`${indent}large objects copied: ${r.largeObjects}`);
  for (const line of replicationLines(r)) ctx.out.line(line.warn ? ctx.out.paint(`${indent}${line.text}`, 'yellow') : `${indent}${line.text}`);
}

/** Which way replication runs after the move, and what that allows next. */
function replicationLines(r: MoveResult): { text: string; warn?: boolean }[] {
  if (r.direction === 'switchover') {
    if (!r.reverse) return [{ text: 'no reverse replication (--no-reverse): a rollback would lose writes made on the target' }];
    if (r.reverseVerified === false) {
      return [{ text: `reverse replication target -> source is NOT working: ${r.reverseProblem ?? 'unknown'}`, warn: true }, { text: `a rollback cannot carry the target's writes until it is fixed; "pgshift status ${r.database}" shows it` }];
    }
    if (r.reverseVerified) return [{ text: `reverse replication target -> source is running and verified (the source applied the target's changes up to the switchover): "pgshift rollback ${r.database}" moves writes back, nothing lost` }];
    return [{ text: `reverse replication target -> source was started: "pgshift status ${r.database}" shows whether it streams` }];
  }
  if (r.reverse && r.reverseVerified === false) return [{ text: `replication source -> target was started again but is NOT working: ${r.reverseProblem ?? 'unknown'}`, warn: true }];
  if (r.reverse) return [{ text: `replication source -> target runs again (from the rollback's fence): "pgshift switchover ${r.database}" moves writes to the target once more, without a new copy` }];
  return [{ text: 'no replication source -> target afterwards (--no-reverse): a later switchover needs "pgshift cleanup" and a new "pgshift start"' }];
}

const OUTCOME_WORDS: Record<MoveResult['outcome'], string> = {
  'done': 'done',
  'already-done': 'already done',
  'finished-interrupted': 'done (finishing an interrupted run)',
  'undone-interrupted': 'the fence an interrupted run of the other direction left was lifted',
};

/** Several databases moved in one pause: one line per database, one timeline with each database's phases, the shared pause. */
export function renderGroup(ctx: CommandContext, r: MoveGroupResult): void {
  if (ctx.json) {
    ctx.out.writeJson({ ok: true, direction: r.direction, method: r.method, ...(r.pause ? { pauseMs: r.pause.ms, pause: r.pause } : {}), databases: r.databases });
    return;
  }
  const side = r.direction === 'switchover' ? 'target' : 'source';
  ctx.out.line('');
  ctx.out.line(`${r.direction} of ${r.databases.length} database(s) in one pause:`);
  for (const d of r.databases) {
    const moved = d.outcome === 'done' || d.outcome === 'finished-interrupted' ? `; writes now go to the ${side}` : '';
    ctx.out.line(`  ${d.database}: ${OUTCOME_WORDS[d.outcome]}${moved}${d.pauseMs !== undefined ? `; its writes paused ${formatDuration(d.pauseMs)}` : ''}`);
  }
  const phases = r.databases.flatMap((d) => d.timeline.phases.map((p) => ({ ...p, database: d.database }))).sort((a, b) => a.startMs - b.startMs);
  if (phases.length) {
    const w = Math.max(8, ...r.databases.map((d) => d.database.length));
    ctx.out.line(`  ${'database'.padEnd(w)}   phase                  start      time`);
    for (const p of phases) {
      ctx.out.line(`  ${p.database.padEnd(w)} ${(p.inPause ? '* ' : '  ') + p.phase.padEnd(20)} ${formatDuration(p.startMs).padStart(8)} ${formatDuration(p.ms).padStart(8)}  ${p.message ?? ''}`);
    }
  }
  if (r.pause) ctx.out.line(`  write pause, one for all (first pause to last resume, * phases): ${ctx.out.paint(formatDuration(r.pause.ms), 'bold')} (${r.method})`);
  for (const d of r.databases) {
    if (d.outcome !== 'done' && d.outcome !== 'finished-interrupted') continue;
    ctx.out.line(`  ${d.database}:`);
    renderCarried(ctx, d, '    ');
  }
}

export const MOVE_FLAGS = (side: 'source' | 'target'): Command['flags'] => ({
  all: { type: 'boolean', description: 'every database of the config, in one pause' },
  pause: { type: 'string', value: 'METHOD', description: 'how writes are paused: pgbouncer, revoke, readonly or command', default: 'switchover.pause in the config, else revoke' },
  force: { type: 'boolean', description: `go ahead although a transaction on the ${side} has been open longer than max_pause (the pause waits for it, or the revoke fence ends it)` },
  'max-pause': { type: 'string', value: 'D', description: `give the writes back to the ${side} if catching up takes longer (one budget for every database)`, default: 'switchover.max_pause in the config, else 5s' },
  'dry-run': DRY_RUN_FLAG,
  metrics: METRICS_FLAG,
});

/** A dry run changes nothing, so it takes no lock (and another pgshift may be running). */
export const moveLocks = (ctx: CommandContext): string[] => (isDryRun(ctx) ? [] : namedDatabases(ctx));

/** switchover and rollback: one database as before, several (or --all) in one pause. */
export async function runMove(ctx: CommandContext, direction: Direction): Promise<ExitCode> {
  const databases = movedDatabases(ctx, direction);
  const pause = flagString(ctx, 'pause');
  if (pause !== undefined && !PAUSE_METHODS.includes(pause as PauseMethod)) {
    throw new UsageError(`--pause: expected one of ${PAUSE_METHODS.join(', ')}, found "${pause}"`);
  }
  const config = ctx.config();
  if (isDryRun(ctx)) return dryRunMove(ctx, direction, databases, pause as PauseMethod | undefined);
  const list = databases.join(', ');
  const question = direction === 'switchover'
    ? `Move writes for ${list} to the target${databases.length > 1 ? ' in one pause' : ''}? Writes pause while the target catches up.`
    : `Move writes for ${list} back to the source${databases.length > 1 ? ' in one pause' : ''}?`;
  if (!(await ctx.confirm(question))) return EXIT.problem;
  const opts = {
    pause: pause as PauseMethod | undefined,
    maxPauseMs: flagDuration(ctx, 'max-pause'),
    force: ctx.flags.force === true,
    reverse: ctx.flags['no-reverse'] === true ? false : undefined,
    emit: ((e) => ctx.out.event(e)) as Emit,
    signal: ctx.signal,
  };
  if (databases.length === 1 && ctx.flags.all !== true) {
    renderMove(ctx, await (direction === 'switchover' ? switchover : rollback)(config, databases[0]!, opts));
  } else {
    renderGroup(ctx, await (direction === 'switchover' ? switchoverMany : rollbackMany)(config, databases, opts));
  }
  return EXIT.ok;
}

/**
 * --dry-run: the guards, what earlier runs left, the preflight and the
 * preparations run for real (refusals with their exit codes), every change
 * recorded (src/pg/dry-run.ts), nothing paused; no question asked.
 */
async function dryRunMove(ctx: CommandContext, direction: Direction, databases: string[], pause: PauseMethod | undefined): Promise<ExitCode> {
  const plan = new DryRun();
  const opts = {
    pause,
    maxPauseMs: flagDuration(ctx, 'max-pause'),
    force: ctx.flags.force === true,
    reverse: ctx.flags['no-reverse'] === true ? false : undefined,
    emit: dryRunEmit(ctx),
    signal: ctx.signal,
    dryRun: plan,
  };
  const r = await (direction === 'switchover' ? switchoverMany : rollbackMany)(ctx.config(), databases, opts);
  const outcomes = r.databases.map(({ database, outcome, warnings }) => ({ database, outcome, warnings }));
  if (ctx.json) {
    ctx.out.writeJson({ ok: true, dryRun: true, changed: false, direction, method: r.method, databases: outcomes, statements: planJson(plan) });
    return EXIT.ok;
  }
  const notes = r.databases.flatMap((d) => (d.outcome === 'done' ? [] : [`${d.database}: ${d.outcome === 'already-done' ? `the ${direction} is already done; only what a killed run left would be tidied` : `an interrupted run is ${d.outcome === 'finished-interrupted' ? 'finished' : 'undone'} as shown`}`]));
  notes.push(`writes would pause with method ${r.method}; the real run asks for confirmation on a terminal (--yes skips)`);
  printPlan(ctx, `${direction} ${databases.join(' ')}`, plan, notes);
  return EXIT.ok;
}

export const command: Command = {
  name: 'switchover',
  usage: 'switchover DB... | --all [--pause M] [--max-pause D] [--force] [--no-reverse] [--dry-run] [--metrics HOST:PORT]',
  summary: 'move writes to the target (sub-second pause, reversible), several databases in one pause',
  args: [DBS_ARG],
  locks: moveLocks,
  flags: {
    ...MOVE_FLAGS('source'),
    'no-reverse': { type: 'boolean', description: 'no reverse replication target -> source afterwards (a rollback would lose writes)' },
  },
  run: (ctx) => runMove(ctx, 'switchover'),
};
