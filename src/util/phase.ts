// One timed phase: what the switchover timeline, the step runner and the
// demo each do around a piece of work. The fault points before:<name> and
// after:<name> (fault.ts), the start and end as phase events, the time on
// the monotonic clock (a wall clock stepped by NTP mid-phase would make a
// phase negative or an hour long), and the end as data for whoever keeps the
// record (a timeline, the runner's step records, the demo's result).
//
// after:<name> fires before the end is recorded or announced, inside the
// failure handling: "error:after:<name>" ends the phase as failed, as a real
// failure there would.

import { performance } from 'node:perf_hooks';
import type { Emit } from '../events.js';
import { faultPoint } from './fault.js';

/** How a phase ended, for its owner's record. */
export interface PhaseEnd {
  /** performance.now() when the phase began. */
  startedAt: number;
  ms: number;
  /** Done: what describe said of the result, when it said something. */
  message?: string;
  /** Failed: what the work (or the after: fault point) threw. */
  error?: Error;
}

export interface PhaseOptions<T> {
  emit: Emit;
  /** Named in the events when several databases move at once. */
  database?: string;
  /** The done event's message, from the result. */
  describe?: (result: T) => string | undefined;
  /** After the before: fault point, before the clock starts and the start event. */
  onStart?: () => void;
  /** At the end, done or failed, before the end event. */
  onEnd?: (end: PhaseEnd) => void;
}

/** Run `work` as the phase `name`: fault points, events, monotonic time; its result or its error, unchanged. */
export async function timedPhase<T>(name: string, work: () => Promise<T>, opts: PhaseOptions<T>): Promise<T> {
  faultPoint(`before:${name}`);
  opts.onStart?.();
  const startedAt = performance.now();
  const db = opts.database !== undefined ? { database: opts.database } : {};
  opts.emit({ type: 'phase', phase: name, state: 'start', ...db });
  try {
    const result = await work();
    faultPoint(`after:${name}`);
    const ms = performance.now() - startedAt;
    const message = opts.describe?.(result);
    opts.onEnd?.({ startedAt, ms, ...(message ? { message } : {}) });
    opts.emit({ type: 'phase', phase: name, state: 'done', ms, ...(message ? { message } : {}), ...db });
    return result;
  } catch (e) {
    const ms = performance.now() - startedAt;
    const error = e instanceof Error ? e : new Error(String(e));
    opts.onEnd?.({ startedAt, ms, error });
    opts.emit({ type: 'phase', phase: name, state: 'fail', ms, message: error.message, ...db });
    throw e;
  }
}
