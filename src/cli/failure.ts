// What the user sees of an error: pgshift's own errors as they are, a
// connection that broke mid-command as "cannot connect", anything else as an
// internal error that asks for a bug report with the version; rendered on
// stderr (or as JSON) by the entry point and the demo.

import { ConnectionError, InternalError, PgshiftError, SqlError } from '../errors.js';
import type { Output } from './output.js';
import { version } from './version.js';

const NETWORK_CODES = ['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'];

/**
 * What an error that is not one of pgshift's own means for the user: a
 * connection that broke in the middle of a command (a server restarted or
 * failed over, the network dropped) is "cannot connect", not a bug; anything
 * else is an internal error.
 */
export function errorFor(e: unknown): PgshiftError {
  if (e instanceof PgshiftError) return e;
  const err = e as { code?: unknown; message?: unknown } | undefined;
  const message = e instanceof Error ? e.message : String(e);
  if ((typeof err?.code === 'string' && NETWORK_CODES.includes(err.code)) ||
      /Connection terminated|Client has encountered a connection error|server closed the connection|terminating connection due to administrator command/i.test(String(err?.message ?? ''))) {
    return new ConnectionError('connection_lost', `a connection to a server broke during the command: ${message}`, {
      hint: 'A server restarted or failed over, or the network dropped. Check both servers, then run the same command again: pgshift continues or undoes what it was doing.',
      cause: e,
    });
  }
  return new InternalError(message, { cause: e });
}

export function printError(out: Output, e: PgshiftError, verbose: boolean): void {
  if (out.json) {
    out.writeJson({ ok: false, ...e.toJSON(), ...(e instanceof InternalError ? { version: version() } : {}) });
    return;
  }
  out.line(out.paint('error: ', 'red') + e.message);
  if (e instanceof SqlError) {
    if (e.statement && e.position && e.position > 0) {
      // Show the failing line of the statement with a caret under the position.
      const upTo = e.statement.slice(0, e.position - 1);
      const lineStart = upTo.lastIndexOf('\n') + 1;
      const lineEnd = e.statement.indexOf('\n', e.position - 1);
      const text = e.statement.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
      out.line('  ' + text);
      out.line('  ' + ' '.repeat(e.position - 1 - lineStart) + '^');
    }
    if (e.sqlstate) out.line(`  SQLSTATE ${e.sqlstate}`);
    if (e.serverDetail) out.line(`  detail: ${e.serverDetail}`);
    if (e.serverHint) out.line(`  server hint: ${e.serverHint}`);
  }
  if (e.hint) out.line(out.paint('hint: ', 'cyan') + e.hint);
  if (e instanceof InternalError) out.line(`pgshift ${version()}, node ${process.version}, ${process.platform}-${process.arch}`);
  if (verbose) {
    for (let c = (e as Error).cause; c; c = (c as Error).cause) {
      out.line(`caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}`);
    }
  }
}
