// The library entry point (import('pgshift')). Deliberately small for now:
// the config loader, the typed errors and the event types. The steps
// themselves are reached through the CLI until the public API is settled.

export { loadConfig, parseConfig, databaseConfig, selectDatabases, PAUSE_METHODS, CONFIG_KEYS } from './config/config.js';
export type { Config, EndpointConfig, DatabaseConfig, SwitchoverConfig, PauseMethod } from './config/config.js';
export { parseConninfo, parseLibpqConninfo, resolveConninfo, formatConninfo, redactConninfo, ConninfoSyntaxError } from './config/conninfo.js';
export type { ConnParams } from './config/conninfo.js';
export { schemaPath } from './config/schema.js';
export {
  EXIT, PgshiftError, UsageError, ConfigError, SafetyError, ProblemError, ConnectionError, ToolError, SqlError, InternalError, AbortedError,
} from './errors.js';
export type { ExitCode, ErrorOptions } from './errors.js';
export type { PgshiftEvent, Emit, Severity } from './events.js';
