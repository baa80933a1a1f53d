// The last logical replication error of one subscription, read from the
// target's server log through SQL (pg_current_logfile + pg_read_file: needs
// logging_collector on, and a superuser or pg_read_server_files). It is the
// only place PostgreSQL says WHICH row conflicts (the DETAIL line:
// "Key (id)=(42) already exists."), and before 15 (no error counters, no
// disable_on_error) the only sign of an apply worker failing again and again.
// Read-only; when the log cannot be read, callers get null and say less.

import type { Db } from '../pg/connect.js';

export interface ReplicationLogError {
  /** The ERROR line, trimmed. */
  line: string;
  /** The message after "ERROR:". */
  message: string;
  /** The DETAIL that followed it (for a unique violation: the conflicting key), or null. */
  detail: string | null;
  /** The relation named in the CONTEXT line: the replication target relation (14+) or the table a COPY fills; or null. */
  relation: string | null;
  /** The log line's timestamp as the server wrote it (log_line_prefix %m/%t), or null. */
  at: string | null;
  /** The timestamp is within the last `recentSeconds` by the target's clock (false when unknown). */
  recent: boolean;
}

const TAIL_BYTES = 262_144;
const TIMESTAMP = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z][\w/+-]*|[+-]\d\d(?::?\d\d)?)?)/;
const PID = /\[(\d+)\]/;

/**
 * The last replication error in the tail of the target's current log file
 * that belongs to this subscription: its CONTEXT names the subscription's
 * replication origin (pg_<oid>, 15+), or it was written by a worker process
 * the log shows working for this subscription (by [pid], with a
 * log_line_prefix that has %p, as the default does). Null when none or
 * unreadable.
 */
export async function lastReplicationError(target: Db, sub: { name: string; oid: number }, recentSeconds = 120): Promise<ReplicationLogError | null> {
  let text: string;
  try {
    const f = await target.maybeOne<{ path: string | null }>('SELECT pg_catalog.pg_current_logfile() AS path');
    if (!f?.path) return null;
    const tail = await target.one<{ text: string }>(
      'SELECT pg_catalog.pg_read_file($1, GREATEST((pg_catalog.pg_stat_file($1)).size - $2, 0), $2) AS text', [f.path, TAIL_BYTES]);
    text = tail.text;
  } catch {
    return null;
  }
  const lines = text.split('\n');
  const origin = `"pg_${sub.oid}"`;
  const quotedName = `"${sub.name}"`;
  const ourPids = new Set<string>();
  let found: { i: number; pid: string | null } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    const pid = PID.exec(l)?.[1] ?? null;
    // "logical replication apply worker for subscription "x" has started", "... table synchronization worker for subscription "x", table ..."
    if (pid && /logical replication .*worker for subscription/.test(l) && l.includes(quotedName)) ourPids.add(pid);
    if (!/\bERROR:/.test(l)) continue;
    const context = followers(lines, i, pid).find((x) => /CONTEXT:/.test(x)) ?? '';
    const ours = context.includes(`replication origin ${origin}`) || (pid !== null && ourPids.has(pid)) ||
      (l.includes(quotedName) && /logical replication/i.test(l));
    if (ours) found = { i, pid };
  }
  if (!found) return null;
  const line = lines[found.i]!.trim();
  const after = followers(lines, found.i, found.pid);
  const detail = after.find((x) => /DETAIL:/.test(x))?.replace(/^.*?DETAIL:\s*/, '').trim() ?? null;
  const context = after.find((x) => /CONTEXT:/.test(x)) ?? '';
  // An apply error names "replication target relation"; a table sync (initial copy) error is a COPY's: "COPY t, line 1".
  const relation = /replication target relation "([^"]+)"/.exec(context)?.[1] ?? /CONTEXT:\s+COPY ([^,]+), line \d+/.exec(context)?.[1] ?? null;
  const at = TIMESTAMP.exec(line)?.[1] ?? null;
  let recent = false;
  if (at) {
    try {
      const r = await target.one<{ recent: boolean }>('SELECT $1::timestamptz > pg_catalog.now() - pg_catalog.make_interval(secs => $2) AS recent', [at, recentSeconds]);
      recent = r.recent;
    } catch {
      recent = false;
    }
  }
  return { line, message: line.replace(/^.*?ERROR:\s*/, ''), detail, relation, at, recent };
}

/** The DETAIL/CONTEXT/HINT lines that belong to the message at index i (same pid when known). */
function followers(lines: string[], i: number, pid: string | null): string[] {
  const out: string[] = [];
  for (let j = i + 1; j < Math.min(lines.length, i + 50) && out.length < 4; j++) {
    const l = lines[j]!;
    if (pid !== null && PID.exec(l)?.[1] !== pid) continue;
    if (!/\b(DETAIL|CONTEXT|HINT|STATEMENT):/.test(l)) break;
    out.push(l);
  }
  return out;
}

/** One line for people: the error, its detail and the table. */
export function describeLogError(e: ReplicationLogError): string {
  return `${e.message}${e.detail ? ` (${e.detail})` : ''}${e.relation ? ` on ${e.relation}` : ''}${e.at ? ` at ${e.at}` : ''}`;
}
