// What of the source's schema-only dump the target gets, one rule each, for
// both ways a schema reaches the target (the schema step's single script and
// fast copy's pre-data/post-data sections): pgshift's own publications and
// COMMENT ON EXTENSION left out by their table-of-contents lines, a newer
// pg_dump's script adapted to an older target, and the error for a failed
// apply that says on which side the fix belongs.

import { ProblemError, ToolError } from '../errors.js';
import type { Db } from '../pg/connect.js';
import { sqlFile } from '../pg/sql.js';
import { restoreFixFor } from '../checks/restore.js';

/**
 * pgshift's own publications on the source (pgshift_<db>, pgshift_<db>_rev)
 * and their table memberships, as "catalog-oid object-oid" keys: the two
 * numbers a table-of-contents line (pg_restore --list) starts with, e.g.
 * "213; 6106 16501 PUBLICATION TABLE public pgshift_app orders". By oid, not
 * by the line's names: a schema or table name may hold spaces. pgshift
 * publishes FOR TABLE only, so no TABLES IN SCHEMA entry is its own.
 */
export async function pgshiftPublicationEntries(source: Db): Promise<Set<string>> {
  const rows = await source.query<{ k: string }>(sqlFile('schema-own-publications'));
  return new Set(rows.map((r) => r.k));
}

/** A COMMENT ON EXTENSION entry: only the extension's owner may set it, which a managed service's admin role is not. */
export function isExtensionComment(line: string): boolean {
  return /^\d+; \d+ \d+ COMMENT - EXTENSION /.test(line);
}

/** Whether a table-of-contents line is one of `own` (pgshiftPublicationEntries). */
export function isOwnEntry(line: string, own: Set<string>): boolean {
  const m = /^\d+; (\d+) (\d+) /.exec(line);
  return m !== null && own.has(`${m[1]} ${m[2]}`);
}

/**
 * Make a newer pg_dump's script fit the target:
 *   - session settings it writes at the top that an older target does not
 *     know (pg_dump 17 writes transaction_timeout);
 *   - the column option pg_attver, which Debian's PostgreSQL 15.20 server
 *     keeps on every column for itself: its own pg_dump leaves it out, a
 *     newer pg_dump writes it (ALTER COLUMN ... SET (pg_attver=N)), and every
 *     other server refuses it ("unrecognized parameter").
 */
export function adaptForTarget(sql: string, targetMajor: number): string {
  const unknownBefore: Record<string, number> = { transaction_timeout: 17 };
  const out: string[] = [];
  for (const line of sql.split('\n')) {
    const m = /^SET (\w+) = .*;$/.exec(line);
    if (m) {
      const since = unknownBefore[m[1]!];
      if (since === undefined || targetMajor >= since) out.push(line);
      continue;
    }
    const opt = /^(ALTER (?:FOREIGN )?TABLE .* ALTER COLUMN .* SET \()(.*)(\);)$/.exec(line);
    if (opt && /\bpg_attver=/.test(opt[2]!)) {
      const kept = opt[2]!.split(', ').filter((o) => !o.startsWith('pg_attver='));
      if (kept.length > 0) out.push(`${opt[1]}${kept.join(', ')}${opt[3]}`);
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

/**
 * The error for a failed psql apply: psql's own ERROR line with its detail
 * and the archive entry it failed in (runPsqlScript), and advice that says
 * on which side the fix belongs (a role the target lacks: run roles; an
 * object the target cannot restore as the source has it: change it on the
 * source).
 */
export function applyFailed(e: unknown, opts: { code: string; database: string; what: string; rerun: string; state: string }): unknown {
  const { database, what, rerun, state } = opts;
  if (!(e instanceof ToolError) || e.code !== 'tool_failed') return e;
  const missingRole = /ERROR: +role ".*" does not exist/.test(e.message);
  const onSource = restoreFixFor(e.message, database);
  const entry = e.details?.entry as string | undefined;
  return new ProblemError(opts.code, `${what} failed${entry ? ` at ${entry}` : ''}: ${e.message}`, {
    cause: e,
    details: e.details,
    hint: missingRole
      ? `Objects are owned by or granted to roles the target lacks: run "pgshift roles" first, then re-run ${rerun}. ${state}`
      : onSource
        ? `${onSource} Then re-run ${rerun}. ${state}`
        : `${state} If the target lacks something the object needs (an extension package, a library, a role), add it on the target; if the target cannot take the object as the source has it, change it on the source. Then re-run ${rerun}.`,
  });
}
