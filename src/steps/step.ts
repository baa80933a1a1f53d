// A step and the runner that runs a list of them. A step says what it is
// (id, title), whether it is already done (probe: read from the clusters,
// changes nothing; a reason when done), and does its work (run). The runner
// does what every step needs the same way: the abort check before it, its
// start/done/skip/fail events with their time, the fault points `before:<id>`
// and `after:<id>` (PGSHIFT_FAULT, docs/faults.md), and the record of each
// outcome; all but the abort check by the one timed phase (util/phase.ts). The
// steps' own events about themselves are not repeated: a step reports its
// progress, the runner its start and end.
//
// The per-database lock is taken around a whole command (withDatabaseLock in
// lock.ts, by the CLI and by library programs), not per step: one command's
// steps must not let another pgshift in between them.

import { throwIfAborted } from '../errors.js';
import type { Emit, PgshiftEvent } from '../events.js';
import { timedPhase } from '../util/phase.js';

export interface StepOutcome {
  /** Nothing to do (it was done before); message says why. */
  skip?: boolean;
  message?: string;
}

export interface Step<Id extends string, Ctx> {
  id: Id;
  /** What it does, in a few words. */
  title: string;
  /** Already done? Read from the clusters, changes nothing: the reason when it is, else undefined. */
  probe?(ctx: Ctx): Promise<string | undefined>;
  run(ctx: Ctx): Promise<StepOutcome>;
}

export interface StepRecord<Id extends string> {
  step: Id;
  state: 'done' | 'skip';
  ms: number;
  message?: string;
}

export class StepRunner<Id extends string, Ctx> {
  readonly records: StepRecord<Id>[] = [];
  private current?: Id;

  constructor(private readonly emit: Emit, private readonly signal?: AbortSignal) {}

  /** The emitter to give a step: its own start/done events of the step the runner is running are dropped (the runner's say it). */
  readonly inner: Emit = (e) => {
    if (e.type === 'step' && e.step === this.current) return;
    this.emit(e);
  };

  /** Run the steps in order; the first failure stops the run (its fail event sent) and is thrown. */
  async runAll(steps: Step<Id, Ctx>[], ctx: Ctx): Promise<StepRecord<Id>[]> {
    for (const step of steps) await this.runOne(step, ctx);
    return this.records;
  }

  private async runOne(step: Step<Id, Ctx>, ctx: Ctx): Promise<void> {
    throwIfAborted(this.signal, step.id);
    this.current = step.id;
    let outcome: StepOutcome = {};
    await timedPhase(step.id, async () => {
      const done = await step.probe?.(ctx);
      outcome = done !== undefined ? { skip: true, message: done } : await step.run(ctx);
    }, {
      emit: (e) => this.emit(e.type === 'phase' ? stepEvent(e, outcome) : e),
      describe: () => outcome.message,
      onEnd: ({ ms, error }) => {
        if (!error) this.records.push({ step: step.id, state: outcome.skip ? 'skip' : 'done', ms: Math.round(ms), message: outcome.message });
      },
    });
  }
}

/**
 * The runner's phase as step events, the shape the CLI and library users
 * read: "skip" for a step found done, whole milliseconds.
 */
function stepEvent(e: Extract<PgshiftEvent, { type: 'phase' }>, outcome: StepOutcome): PgshiftEvent {
  if (e.state === 'start') return { type: 'step', step: e.phase, state: 'start' };
  const state = e.state === 'done' && outcome.skip ? 'skip' : e.state;
  return { type: 'step', step: e.phase, state, ms: Math.round(e.ms ?? 0), message: e.message };
}
