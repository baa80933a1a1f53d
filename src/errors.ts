// Typed errors. Every error pgshift raises carries a stable `code`, an exit
// code for the CLI, and a `hint` telling the user what to do next. Only
// src/cli turns them into output and an exit status.

export const EXIT = {
  ok: 0,
  problem: 1,
  usage: 2,
  safety: 3,
  /** A server could not be reached or refused the login. */
  connect: 4,
  /** A bug in pgshift. */
  internal: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class PgshiftError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, exitCode: ExitCode, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.name,
      code: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Bad command line. */
export class UsageError extends PgshiftError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('usage', message, EXIT.usage, { hint: 'Run "pgshift --help" for the command reference.', ...opts });
  }
}

/** Bad config file: names the file and the key path. */
export class ConfigError extends PgshiftError {
  readonly file: string;
  readonly path: string;
  constructor(file: string, path: string, expected: string, opts: ErrorOptions = {}) {
    super('config', `${file}: ${path ? path + ': ' : ''}${expected}`, EXIT.usage, opts);
    this.file = file;
    this.path = path;
  }
}

/** pgshift refuses to act: wrong cluster, non-empty target, budget exceeded. */
export class SafetyError extends PgshiftError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, EXIT.safety, opts);
  }
}

/** An operation found a problem (a failed check, a difference, a timeout). */
export class ProblemError extends PgshiftError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, EXIT.problem, opts);
  }
}

/** A connection could not be made: unreachable, auth failure, no such database. */
export class ConnectionError extends PgshiftError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, EXIT.connect, opts);
  }
}

/** A missing external tool (pg_dump, pgbouncer) or one too old. */
export class ToolError extends PgshiftError {
  constructor(code: string, message: string, opts: ErrorOptions = {}) {
    super(code, message, EXIT.problem, opts);
  }
}

/**
 * A statement failed on the server. Keeps SQLSTATE, detail, hint and the
 * position so the CLI can show a caret under the failing spot.
 */
export class SqlError extends PgshiftError {
  readonly sqlstate?: string;
  readonly serverDetail?: string;
  readonly serverHint?: string;
  readonly position?: number;
  readonly statement?: string;
  readonly side?: string;

  constructor(message: string, fields: {
    sqlstate?: string; detail?: string; hint?: string; position?: number; statement?: string; side?: string;
  }, opts: ErrorOptions = {}) {
    super(fields.sqlstate ? `sqlstate_${fields.sqlstate}` : 'sql', message, EXIT.problem, opts);
    this.sqlstate = fields.sqlstate;
    this.serverDetail = fields.detail;
    this.serverHint = fields.hint;
    this.position = fields.position;
    this.statement = fields.statement;
    this.side = fields.side;
  }

  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      sqlstate: this.sqlstate,
      ...(this.side ? { side: this.side } : {}),
      ...(this.serverDetail ? { detail: this.serverDetail } : {}),
      ...(this.serverHint ? { server_hint: this.serverHint } : {}),
    };
  }
}

/** A bug in pgshift. */
export class InternalError extends PgshiftError {
  constructor(message: string, opts: ErrorOptions = {}) {
    super('internal', message, EXIT.internal, {
      hint: 'This is a bug in pgshift; please report it with the command you ran, this message and "pgshift --version".',
      ...opts,
    });
  }
}

/** The command's signal was aborted (Ctrl-C, SIGTERM): it stopped at a safe point. */
export class AbortedError extends PgshiftError {
  constructor(message = 'interrupted') {
    super('aborted', message, EXIT.problem, { hint: 'Re-run the same command to continue where it stopped.' });
  }
}

/** The one abort check, at each safe point of a long operation: "<what> interrupted" once the signal is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`${what} interrupted`);
}

interface PgLikeError {
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  message: string;
}

function isPgServerError(e: unknown): e is PgLikeError {
  return e instanceof Error && typeof (e as PgLikeError).code === 'string' && /^[0-9A-Z]{5}$/.test((e as PgLikeError).code!);
}

/** Wrap a driver error in a SqlError, keeping the server's fields. */
export function wrapSqlError(e: unknown, statement?: string, side?: string): unknown {
  if (e instanceof PgshiftError) return e;
  if (!isPgServerError(e)) return e;
  const position = e.position ? Number(e.position) : undefined;
  return new SqlError(side ? `${side}: ${e.message}` : e.message, {
    sqlstate: e.code, detail: e.detail, hint: e.hint, position, statement, side,
  }, { cause: e, hint: hintForSqlstate(e.code!) });
}

function hintForSqlstate(code: string): string | undefined {
  switch (code) {
    case '42501':
      return 'The connecting role lacks a privilege: connect as a superuser (or the provider\'s replication admin role) or grant it.';
    case '55006':
      return 'An object is in use by another session; wait for it to finish or stop it, then retry.';
    case '53400':
      return 'A server limit was reached; raise the setting named in the message and restart the server.';
    default:
      return undefined;
  }
}
