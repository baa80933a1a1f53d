// --dry-run for the commands that change clusters: the flag, what a dry run
// shows while it plans (warnings only: the library's "created ..." lines
// would claim what did not happen), and the plan itself, as text or as one
// JSON document. The recording is src/pg/dry-run.ts. A dry run takes no
// lock, asks nothing and writes no journal (it changes nothing).

import type { CommandContext, FlagSpec } from './command.js';
import type { PgshiftEvent } from '../events.js';
import type { DryRun, PlannedStatement } from '../pg/dry-run.js';

export const DRY_RUN_FLAG: FlagSpec = {
  type: 'boolean',
  description: 'print the plan: every statement it would run, on which side and in which database, in order; change nothing (every check still runs)',
};

export function isDryRun(ctx: Pick<CommandContext, 'flags'>): boolean {
  return ctx.flags['dry-run'] === true;
}

/** The events a dry run passes on while it plans: warnings (a table not carried, a password stored). */
export function dryRunEmit(ctx: CommandContext): (e: PgshiftEvent) => void {
  return (e) => {
    if (e.type === 'warn') ctx.out.event(e);
  };
}

/** What the JSON document lists for each planned statement. */
export function planJson(plan: DryRun): Omit<PlannedStatement, 'n'>[] {
  return plan.statements.map(({ n: _n, ...s }) => s);
}

/**
 * The plan on stderr: a header saying nothing was changed, then the
 * statements numbered in order under their steps, each with its side and
 * database, continuation lines indented so the SQL can be copied.
 */
export function printPlan(ctx: CommandContext, title: string, plan: DryRun, notes: string[] = []): void {
  const out = ctx.out;
  out.line(out.paint('dry run: nothing was changed', 'bold') + ' (every check and read ran against the real clusters)');
  out.line(`${title}: ${plan.statements.length === 0 ? 'nothing to run' : `${plan.statements.length} statement(s) would run, in this order`}`);
  let step: string | undefined;
  const width = String(plan.statements.length).length;
  for (const s of plan.statements) {
    if (s.step !== step) {
      step = s.step;
      out.line('');
      out.line(out.paint(`== ${step}`, 'bold'));
    }
    const where = s.pgbouncer ? `PgBouncer, for its database ${s.database} (fronting the ${s.side})` : `on the ${s.side}, in database ${s.database}${s.command ? ' (a program)' : ''}`;
    out.line(`${String(s.n).padStart(width + 2)}. ${out.paint(where, 'dim')}`);
    const pad = ' '.repeat(width + 6);
    if (s.sql ?? s.command) for (const l of (s.sql ?? s.command ?? '').split('\n')) out.line(pad + l);
    if (s.note) out.line(pad + out.paint(`-- ${s.note}`, 'dim'));
  }
  if (notes.length) out.line('');
  for (const n of notes) out.line(n);
}
