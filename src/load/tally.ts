// What the load clients count as they run, and the report made from it.
// Pure: the clients (generator.ts) tell the tally what happened and when; the
// rules of what counts — only an acknowledged COMMIT is a transaction, the
// longest stall is the longest gap between two acknowledgements over all
// clients, a few distinct error messages are kept — are unit-tested here
// without a server (test/unit/load-tally.test.ts).

import type { Outcome } from '../events.js';

export type Op = 'insert' | 'update' | 'delete' | 'audit';

export interface LoadReport {
  run: string;
  database: string;
  clients: number;
  durationMs: number;
  /** Acknowledged transactions: COMMIT returned OK. */
  transactions: number;
  tps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Longest gap between two successive acknowledged commits, over all clients. */
  longestStallMs: number;
  /** Transactions that failed (including those whose COMMIT outcome is unknown). */
  errors: number;
  reconnects: number;
  /** A few distinct error messages, for the report. */
  errorSamples: string[];
  byOp: Record<string, number>;
  ledgerFile?: string;
}

/** Distinct error messages kept for the report. */
const ERROR_SAMPLES = 5;

export class LoadTally {
  /** Latency of each acknowledged transaction, in ms. */
  readonly latencies: number[] = [];
  readonly byOp: Record<string, number> = {};
  readonly errorSamples = new Set<string>();
  errors = 0;
  reconnects = 0;
  longestStallMs = 0;
  private lastAck: number | undefined;

  /** A COMMIT returned OK at `at` (ms since the epoch), `latencyMs` after its BEGIN. */
  acknowledged(op: Op, latencyMs: number, at: number): void {
    this.latencies.push(latencyMs);
    this.byOp[op] = (this.byOp[op] ?? 0) + 1;
    if (this.lastAck !== undefined) this.longestStallMs = Math.max(this.longestStallMs, at - this.lastAck);
    this.lastAck = at;
  }

  /** A transaction or a connection attempt failed. */
  failed(e: unknown): void {
    this.errors++;
    if (this.errorSamples.size < ERROR_SAMPLES) this.errorSamples.add(String((e as Error).message ?? e).split('\n')[0]!.slice(0, 200));
  }

  reconnected(): void {
    this.reconnects++;
  }

  get transactions(): number {
    return this.latencies.length;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round = (x: number): number => Math.round(x * 100) / 100;

export function loadReport(tally: LoadTally, run: { run: string; database: string; clients: number; durationMs: number; ledgerFile?: string }): LoadReport {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  return {
    run: run.run,
    database: run.database,
    clients: run.clients,
    durationMs: run.durationMs,
    transactions: tally.transactions,
    tps: round(tally.transactions / (run.durationMs / 1000)),
    latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? 0) },
    longestStallMs: tally.longestStallMs,
    errors: tally.errors,
    reconnects: tally.reconnects,
    errorSamples: [...tally.errorSamples],
    byOp: tally.byOp,
    ledgerFile: run.ledgerFile,
  };
}

/** The `result` event of a load: what the journal and metrics keep of the report. */
export function loadOutcome(report: LoadReport): Outcome {
  return {
    kind: 'load', database: report.database, clients: report.clients, durationMs: report.durationMs, transactions: report.transactions, tps: report.tps,
    errors: report.errors, longestStallMs: report.longestStallMs, latencyMs: report.latencyMs,
  };
}

/** The pause before a client retries: doubling from 20 ms up to a second. */
export function nextBackoff(ms: number): number {
  return Math.min(ms * 2, 1000);
}
export const FIRST_BACKOFF_MS = 20;

/** The operation of a client's next transaction, from a random number in [0, 1). */
export function pickOp(r: number): Op {
  if (r < 0.4) return 'insert';
  if (r < 0.75) return 'update';
  if (r < 0.9) return 'delete';
  return 'audit';
}
