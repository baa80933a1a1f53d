// The switchover timeline: every phase timed with a monotonic clock, and the
// write pause measured from the moment writes were paused to the moment they
// resumed. Reported to people and in --json. A move of several databases
// keeps one timeline per database on one clock (t0), so their phases line up,
// and one PauseWindow over all of them.

import { performance } from 'node:perf_hooks';
import type { Emit } from '../events.js';
import { timedPhase } from '../util/phase.js';

export interface PhaseTiming {
  phase: string;
  /** Milliseconds since the switchover began. */
  startMs: number;
  ms: number;
  inPause: boolean;
  message?: string;
}

export class Timeline {
  readonly phases: PhaseTiming[] = [];
  private readonly t0: number;
  private pauseStart?: number;
  private pauseEnd?: number;

  /** database: named in the phase events when several databases move at once; t0: the shared clock's zero. */
  constructor(private readonly emit: Emit, private readonly opts: { database?: string; t0?: number; onPhase?: (name: string) => void } = {}) {
    this.t0 = opts.t0 ?? performance.now();
  }

  /** When writes were paused and resumed, in ms since t0. */
  get pauseSpan(): { startMs: number; endMs?: number } | undefined {
    if (this.pauseStart === undefined) return undefined;
    return { startMs: this.pauseStart - this.t0, ...(this.pauseEnd !== undefined ? { endMs: this.pauseEnd - this.t0 } : {}) };
  }

  now(): number {
    return performance.now() - this.t0;
  }

  pauseBegan(): void {
    this.pauseStart ??= performance.now();
  }

  pauseEnded(): void {
    if (this.pauseStart !== undefined) this.pauseEnd ??= performance.now();
  }

  get paused(): boolean {
    return this.pauseStart !== undefined && this.pauseEnd === undefined;
  }

  /** Milliseconds writes have been (or were) paused. */
  get pauseMs(): number | undefined {
    if (this.pauseStart === undefined) return undefined;
    return (this.pauseEnd ?? performance.now()) - this.pauseStart;
  }

  async phase<T>(name: string, fn: () => Promise<T>, describe?: (r: T) => string | undefined): Promise<T> {
    let inPause = false;
    return timedPhase(name, fn, {
      emit: this.emit,
      database: this.opts.database,
      describe,
      onStart: () => {
        this.opts.onPhase?.(name);
        inPause = this.paused;
      },
      onEnd: ({ startedAt, ms, message, error }) => {
        this.phases.push(error
          ? { phase: name, startMs: startedAt - this.t0, ms, inPause, message: `failed: ${error.message}` }
          : { phase: name, startMs: startedAt - this.t0, ms, inPause: inPause || this.paused, ...(message ? { message } : {}) });
      },
    });
  }

  toJSON(): { startedAt: string; phases: PhaseTiming[]; pauseMs?: number; totalMs: number } {
    const round = (n: number): number => Math.round(n * 10) / 10;
    return {
      // The wall-clock time of startMs 0, so the phases can be lined up with what clients logged.
      startedAt: new Date(performance.timeOrigin + this.t0).toISOString(),
      phases: this.phases.map((p) => ({ ...p, startMs: round(p.startMs), ms: round(p.ms) })),
      ...(this.pauseMs !== undefined ? { pauseMs: round(this.pauseMs) } : {}),
      totalMs: round(this.now()),
    };
  }
}
