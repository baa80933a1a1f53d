// The library entry point: import { ... } from 'pgshift' (docs/library.md).
//
// Stable: what this file exports, and nothing else. Each step is a function
// (config, database, options) -> Promise<result> that does what the CLI
// command of the same name does, reports progress through options.emit (the
// events of src/events.ts) and throws a PgshiftError subclass (code, hint,
// exitCode) for anything a user can act on; their option and result types
// are exported beside them. Fields may be added to results, options and
// events in any release; a rename or removal of anything exported here is a
// breaking change (a new minor version while pgshift is 0.x, then a major).
// Not stable: deep imports (pgshift/dist/...), which package.json "exports"
// does not allow anyway, and the text of messages (match on codes).
//
// The CLI takes the per-database lock around every command that changes a
// database; a program does so with withDatabaseLock (docs/library.md).

// Configuration
export { loadConfig, parseConfig, databaseConfig, selectDatabases, PAUSE_METHODS, CONFIG_KEYS } from './config/config.js';
export type { Config, EndpointConfig, DatabaseConfig, SwitchoverConfig, PauseMethod } from './config/config.js';
export { parseConninfo, parseLibpqConninfo, resolveConninfo, formatConninfo, redactConninfo, ConninfoSyntaxError } from './config/conninfo.js';
export type { ConnParams } from './config/conninfo.js';
export { schemaPath } from './config/schema.js';
export { initConfig } from './steps/init.js';
export type { InitOptions, InitResult } from './steps/init.js';

// Errors and events
export {
  EXIT, PgshiftError, UsageError, ConfigError, SafetyError, ProblemError, ConnectionError, ToolError, SqlError, InternalError, AbortedError,
} from './errors.js';
export type { ExitCode, ErrorOptions } from './errors.js';
export { silent } from './events.js';
export type { PgshiftEvent, WarnEvent, Emit, Severity, Outcome, StatusSample, ClusterOutcome, PhaseOutcome } from './events.js';
export { STATUS_PROBLEM_CODES, WARNING_CODES, problemText } from './problems.js';
export type { Problem, StatusProblemCode, WarningCode } from './problems.js';

// The steps, in the order of a migration
export { runCheck } from './steps/check.js';
export type { CheckOptions, CheckReport, Finding, ClusterSummary } from './steps/check.js';
export { copyRoles } from './steps/roles.js';
export type { CopyRolesOptions, RolesReport } from './steps/roles.js';
export { applySchema, schemaIsApplied } from './steps/schema.js';
export type { ApplySchemaOptions, SchemaReport } from './steps/schema.js';
export { startReplication, replicationStarted } from './steps/start.js';
export type { StartOptions, StartResult, CopyMode } from './steps/start.js';
export type { NotCarriedTable } from './replication/publication.js';
export { startFastCopy, DEFAULT_FAST_COPY_JOBS } from './steps/fast-copy.js';
export type { FastCopyOptions, FastCopyReport, FastCopyTableReport } from './steps/fast-copy.js';
export { waitForSync, DEFAULT_WAIT_TIMEOUT_MS, DEFAULT_MAX_LAG_BYTES } from './steps/wait.js';
export type { WaitOptions, WaitResult } from './steps/wait.js';
export { analyzeTarget, DEFAULT_ANALYZE_JOBS } from './steps/analyze.js';
export type { AnalyzeOptions, AnalyzeResult } from './steps/analyze.js';
export { runPipeline } from './steps/run.js';
export type { RunOptions, RunResult, RunStepId } from './steps/run.js';
export { getStatus } from './status/probe.js';
export type { DatabaseStatus, TableStatus, Phase, SyncState } from './status/model.js';
export { verify } from './steps/verify.js';
export type { VerifyStepOptions } from './steps/verify.js';
export type { VerifyReport, TableResult, RowDifference, VerifyMode } from './verify/index.js';
export { switchover } from './steps/switchover.js';
export type { SwitchoverOptions, SwitchoverResult } from './steps/switchover.js';
export { rollback } from './steps/rollback.js';
export type { RollbackOptions } from './steps/rollback.js';
export type { MoveOptions, MoveResult } from './switchover/move-writes.js';
export { cleanup } from './steps/cleanup.js';
export type { CleanupResult, LeftBehind } from './steps/cleanup.js';

// One pgshift at a time per database
export { withDatabaseLock } from './steps/lock.js';
export type { LockHolder } from './steps/lock.js';
