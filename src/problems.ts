// What needs attention, as data: `status` problems are each
// { code, message, fix }. The code is the stable part a program
// or a test decides on; message and fix are for people and may be reworded
// in any release. docs/problems.md lists every code (a unit test keeps the
// list below and that page equal).

/** Something that needs attention: a stable code, what is wrong, and (when there is one) what to do next. */
export interface Problem {
  /** Stable snake_case identifier (docs/problems.md). */
  code: string;
  /** What is wrong. */
  message: string;
  /** What to do next. */
  fix?: string;
}

/** The problems `status` (and so `wait`) reports for a database. */
export const STATUS_PROBLEM_CODES = [
  'publication_missing',
  'target_database_missing',
  'subscription_missing',
  'subscription_disabled',
  'apply_error_stopped',
  'apply_error_retrying',
  'slot_missing',
  'slot_lost',
  'slot_unreserved',
  'slot_inactive',
  'walsender_stale',
  'apply_errors_recent',
  'sync_errors_recent',
  'replica_identity_missing',
  'tables_not_subscribed',
  'fence_interrupted',
  'drift_column_missing',
  'drift_column_incompatible',
  'drift_more_columns',
  'drift_table_missing',
  'drift_table_unpublished',
  'reverse_slot_lost',
  'reverse_columns_missing',
  'reverse_subscription_disabled',
  'reverse_not_applying',
  'reverse_replica_identity_missing',
] as const;

export type StatusProblemCode = typeof STATUS_PROBLEM_CODES[number];

/** A problem with a documented code (the fix left out when there is none). */
export function problem(code: StatusProblemCode, message: string, fix?: string): Problem {
  return fix === undefined ? { code, message } : { code, message, fix };
}

/** A problem on one line, where it must be part of a sentence (an error message, a log line). */
export function problemText(p: Problem): string {
  return p.fix ? `${p.message}; ${p.fix}` : p.message;
}
