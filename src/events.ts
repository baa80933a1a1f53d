// Progress reaches the CLI through typed events; the library never prints.

export type Severity = 'ok' | 'warn' | 'fail';

export type PgshiftEvent =
  | { type: 'step'; step: string; state: 'start' | 'skip' | 'done' | 'fail'; message?: string; ms?: number }
  | { type: 'info'; message: string; data?: Record<string, unknown> }
  | { type: 'warn'; message: string; data?: Record<string, unknown> }
  | { type: 'progress'; task: string; label?: string; done: number; total?: number; unit?: 'rows' | 'bytes' | 'tables' | 'ranges'; rate?: number; etaMs?: number }
  | { type: 'phase'; phase: string; state: 'start' | 'done' | 'fail'; ms?: number; message?: string }
  | { type: 'status'; data: unknown };

export type Emit = (event: PgshiftEvent) => void;

export const silent: Emit = () => undefined;
