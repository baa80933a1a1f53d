// Progress reaches the CLI through typed events; the library never prints.
// The CLI renders them, and also appends them to the journal and turns them
// into Prometheus metrics (src/journal, src/metrics): `status` and `result`
// carry the numbers those need, as plain data. Warnings are problems
// ({code, message, fix}, src/problems.ts), made by `warning` below.

import type { Problem, WarningCode } from './problems.js';
import { problem } from './problems.js';

export type Severity = 'ok' | 'warn' | 'fail';

/** The numbers of one status look (src/status/derive.ts sampleOf). */
export interface StatusSample {
  database: string;
  /** When the look was taken (ISO 8601). */
  time: string;
  phase: string;
  sourceVersion: string;
  targetVersion: string;
  tablesReady: number;
  tablesTotal: number;
  /** Bytes of the initial copy so far (running COPYs plus finished tables on the target). */
  copiedBytes: number;
  /** Source WAL the target has not confirmed applying; null without a slot. */
  lagBytes: number | null;
  lagSeconds: number | null;
  /** WAL the forward slot makes the source keep. */
  walRetainedBytes: number | null;
  /** pg_stat_subscription_stats counters on the target (15+), else null. */
  applyErrors: number | null;
  syncErrors: number | null;
  /** After a switchover: the target's WAL the source has not confirmed through reverse replication; null otherwise (absent in older journals). */
  reverseLagBytes?: number | null;
  /** How many problems the look found (status lists them, each with its code). */
  problems: number;
}

/** A cluster as check saw it. */
export interface ClusterOutcome {
  version: string;
  systemIdentifier: string;
  role: string;
  /** The replication settings check reads (wal_level, max_replication_slots, ...), as the server shows them. */
  settings: Record<string, string>;
}

/** One switchover or rollback phase, timed from the start of the run. */
export interface PhaseOutcome {
  phase: string;
  startMs: number;
  ms: number;
  /** Ran while writes were paused. */
  inPause: boolean;
  message?: string;
}

/** What an operation ended with: the numbers the journal keeps and the report shows. */
export type Outcome =
  | {
    kind: 'check';
    ok: boolean;
    databases: string[];
    source: ClusterOutcome;
    target: ClusterOutcome;
    findings: { id: string; severity: Severity; side: string; database?: string; title: string; fix?: string; objects: string[]; objectCount: number }[];
  }
  | {
    kind: 'verify';
    database: string;
    mode: string;
    identical: boolean;
    tables: number;
    /** Rows compared (sampled rows in sample mode). */
    rows: number;
    ms: number;
    live: boolean;
    differing: { table: string; differences: number; problem?: string }[];
    unsettled: string[];
    /** Tables replication does not carry, copied at the switchover and compared after it (absent in older journals). */
    deferred?: string[];
    warnings: string[];
  }
  | {
    kind: 'move';
    database: string;
    direction: 'switchover' | 'rollback';
    method: string;
    /** aborted: the budget ran out or a phase failed before the point of no return; writes were given back. */
    outcome: 'done' | 'already-done' | 'finished-interrupted' | 'undone-interrupted' | 'aborted';
    /** Milliseconds writes were paused; absent when this run paused nothing. */
    pauseMs?: number;
    totalMs: number;
    phases: PhaseOutcome[];
    lsn?: string;
    sequences?: number;
    copied: { table: string; rows: number }[];
    largeObjects: number;
    reverse: boolean;
    /** The rollback path was proven working after the resume; absent when not checked. */
    reverseVerified?: boolean;
    reverseProblem?: string;
    /** Materialized views populated before the pause and refreshed after the resume. */
    views?: { populated: number; refreshed: number; failed: number };
    /** What needed attention; journals written before warnings had codes hold plain strings here (src/report reads both). */
    warnings: Problem[];
    error?: string;
  }
  | { kind: 'copy'; database: string; tables: number; rows: number; bytes: number; copyMs: number; totalMs: number }
  | {
    kind: 'load';
    database: string;
    clients: number;
    durationMs: number;
    transactions: number;
    tps: number;
    errors: number;
    longestStallMs: number;
    latencyMs: { p50: number; p95: number; p99: number; max: number };
  }
  | { kind: 'load-check'; database: string; acknowledged: number; missing: number; duplicated: number; ok: boolean }
  | { kind: 'cleanup'; database: string; dropped: string[]; left: string[]; fences: string[] };

export type PgshiftEvent =
  | { type: 'step'; step: string; state: 'start' | 'skip' | 'done' | 'fail'; message?: string; ms?: number }
  | { type: 'info'; message: string; data?: Record<string, unknown> }
  /** A problem that does not stop the step (made by `warning`); database: as for phase events. */
  | { type: 'warn'; code: string; message: string; fix?: string; database?: string; data?: Record<string, unknown> }
  | { type: 'progress'; task: string; label?: string; done: number; total?: number; unit?: 'rows' | 'bytes' | 'tables' | 'ranges'; rate?: number; etaMs?: number; errors?: number }
  /** database: set when a switchover or rollback moves several databases at once. */
  | { type: 'phase'; phase: string; state: 'start' | 'done' | 'fail'; ms?: number; message?: string; database?: string }
  | { type: 'status'; data: StatusSample }
  | { type: 'result'; data: Outcome };

export type Emit = (event: PgshiftEvent) => void;

export const silent: Emit = () => undefined;

export type WarnEvent = Extract<PgshiftEvent, { type: 'warn' }>;

/** The one way a warn event is made: a documented code (docs/problems.md), what is wrong, what to do. */
export function warning(code: WarningCode, message: string, fix?: string, data?: Record<string, unknown>): WarnEvent {
  return warnEvent(problem(code, message, fix), { data });
}

/** The warn event of a problem already made (switchover and rollback also return theirs). */
export function warnEvent(p: Problem, about: { database?: string; data?: Record<string, unknown> } = {}): WarnEvent {
  return {
    type: 'warn', code: p.code, message: p.message,
    ...(p.fix !== undefined ? { fix: p.fix } : {}),
    ...(about.database !== undefined ? { database: about.database } : {}),
    ...(about.data !== undefined ? { data: about.data } : {}),
  };
}
