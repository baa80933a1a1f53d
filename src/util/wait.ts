// Wait for a condition with a deadline, polling; never sleeps blindly.

import { performance } from 'node:perf_hooks';

/**
 * A point in time on performance.now()'s clock: a number, or a shared budget
 * whose end can be brought forward while several waits run on it (a move of
 * several databases stops waiting for the others once one of them failed).
 */
export type Deadline = number | { readonly at: number };

export function deadlineAt(d: Deadline): number {
  return typeof d === 'number' ? d : d.at;
}

export function pastDeadline(d: Deadline): boolean {
  return performance.now() > deadlineAt(d);
}

export function msLeft(d: Deadline): number {
  return Math.max(0, deadlineAt(d) - performance.now());
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    // The listener goes when the sleep ends: a long wait must not pile them up on one signal.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  what: string;
  signal?: AbortSignal;
}

/** Poll `probe` until it returns a value other than undefined/false; throws on timeout. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false>, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (opts.signal?.aborted) throw new Error(`aborted while waiting for ${opts.what}`);
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${last ? `: last error: ${(last as Error).message}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 100, opts.signal);
  }
}
