// What needs attention, as data: `status` problems and the warnings steps
// emit are each { code, message, fix }. The code is the stable part a program
// or a test decides on; message and fix are for people and may be reworded
// in any release. docs/problems.md lists every code (a unit test keeps the
// lists below and that page equal).

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

/** The warnings steps emit (`warn` events; switchover and rollback also return theirs). */
export const WARNING_CODES = [
  'check_fail',
  'password_hashes_unreadable',
  'role_setting_not_copied',
  'target_database_differs',
  'database_property_skipped',
  'database_owner_missing',
  'locale_missing',
  'created_database_not_dropped',
  'column_may_reject',
  'secret_exposed',
  'password_in_subscription',
  'table_not_replicated',
  'replica_identity_index_unusable',
  'subscription_disabled',
  'subscription_disabled_new_tables',
  'leftover_slot_dropped',
  'fast_copy_restarted',
  'connection_lost',
  'deferred_check_gone',
  'analyze_table_failed',
  'tables_never_analyzed',
  'long_transactions',
  'interrupted_fence_lifted',
  'pgbouncer_pool_mode',
  'superuser_sessions',
  'connect_grantees_missing',
  'session_outside_pause',
  'sequences_missing',
  'carried_tables_missing',
  'opposite_slot_remade',
  'opposite_slot_left',
  'table_not_reversed',
  'matview_failed',
  'matview_not_refreshed',
  'reverse_not_working',
  'forward_not_working',
  'old_subscription_not_dropped',
  'journal_unwritable',
  'pgbouncer_missing',
] as const;

export type StatusProblemCode = typeof STATUS_PROBLEM_CODES[number];
export type WarningCode = typeof WARNING_CODES[number];

/** A problem with a documented code (the fix left out when there is none). */
export function problem(code: StatusProblemCode | WarningCode, message: string, fix?: string): Problem {
  return fix === undefined ? { code, message } : { code, message, fix };
}

/** A problem on one line, where it must be part of a sentence (an error message, a log line). */
export function problemText(p: Problem): string {
  return p.fix ? `${p.message}; ${p.fix}` : p.message;
}
