// The switchover timeline: every phase timed with a monotonic clock, and the
// write pause measured from the moment writes were paused to the moment they
// resumed. Reported to people and in --json. A move of several databases
// keeps one timeline per database on one clock (t0), so their phases line up,
// and one PauseWindow over all of them.

import { performance } from 'node:perf_hooks';
import type { Emit } from '../events.js';
import { faultPoint } from '../util/fault.js';

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
    faultPoint(`before:${name}`);
    this.opts.onPhase?.(name);
    const start = performance.now();
    const inPause = this.paused;
    const db = this.opts.database !== undefined ? { database: this.opts.database } : {};
    this.emit({ type: 'phase', phase: name, state: 'start', ...db });
    try {
      const r = await fn();
      faultPoint(`after:${name}`);
      const ms = performance.now() - start;
      const message = describe?.(r);
      this.phases.push({ phase: name, startMs: start - this.t0, ms, inPause: inPause || this.paused, ...(message ? { message } : {}) });
      this.emit({ type: 'phase', phase: name, state: 'done', ms, ...(message ? { message } : {}), ...db });
      return r;
    } catch (e) {
      const ms = performance.now() - start;
      this.phases.push({ phase: name, startMs: start - this.t0, ms, inPause, message: `failed: ${(e as Error).message}` });
      this.emit({ type: 'phase', phase: name, state: 'fail', ms, message: (e as Error).message, ...db });
      throw e;
    }
  }

  toJSON(): { phases: PhaseTiming[]; pauseMs?: number; totalMs: number } {
    const round = (n: number): number => Math.round(n * 10) / 10;
    return {
      phases: this.phases.map((p) => ({ ...p, startMs: round(p.startMs), ms: round(p.ms) })),
      ...(this.pauseMs !== undefined ? { pauseMs: round(this.pauseMs) } : {}),
      totalMs: round(this.now()),
    };
  }
}
