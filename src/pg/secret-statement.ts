// Statements whose text carries a secret: CREATE SUBSCRIPTION ... CONNECTION
// '... password=...', and CREATE ROLE ... PASSWORD '<verifier>'. PostgreSQL
// writes statement text to its log (log_statement, log_min_duration_statement,
// the sampling settings, and log_min_error_statement when the statement
// fails), shows it in pg_stat_activity while it runs, and pg_stat_statements
// keeps utility statements verbatim. For the duration of such a statement
// this session turns all of that off, as far as the connecting role may.
// Where it may not (the settings need a superuser, or GRANT SET ON PARAMETER
// on 15+), the caller gets the names back and warns the user.
// Errors of the statement never carry its text, and the secrets are masked
// in the server's message, detail and hint.

import { SqlError, wrapSqlError } from '../errors.js';
import { warning, type Emit } from '../events.js';
import type { Db } from './connect.js';
import { sqlFor } from './sql.js';

/** Settings that would put the statement's text anywhere, with the value that stops it. */
const QUIET: readonly (readonly [name: string, value: string])[] = [
  ['log_statement', 'none'],
  ['log_min_duration_statement', '-1'],
  ['log_min_duration_sample', '-1'],
  ['log_transaction_sample_rate', '0'],
  ['log_min_error_statement', 'panic'],
  ['track_activities', 'off'],
  ['pg_stat_statements.track_utility', 'off'],
  // pgaudit logs DDL and ROLE statements whatever log_statement says.
  ['pgaudit.log', 'none'],
];

/** Values under which a setting this session could not change still logs the statement. */
function stillLogs(name: string, value: string): 'always' | 'on-error' | undefined {
  switch (name) {
    case 'log_statement':
      return value === 'all' || value === 'ddl' ? 'always' : undefined;
    case 'log_min_duration_statement':
    case 'log_min_duration_sample':
      return Number(value) >= 0 ? 'always' : undefined;
    case 'log_transaction_sample_rate':
      return Number(value) > 0 ? 'always' : undefined;
    case 'log_min_error_statement':
      return ['panic', 'fatal', 'log'].includes(value) ? undefined : 'on-error';
    // pg_stat_activity shows a running statement only to its role and
    // pg_read_all_stats, and only while it runs: quieted when allowed, not warned about.
    case 'pg_stat_statements.track_utility':
      return value === 'on' ? 'always' : undefined;
    case 'pgaudit.log':
      return value === 'none' || value === '' ? undefined : 'always';
    default:
      return undefined;
  }
}

const SET_ALL = 'SELECT pg_catalog.set_config(s.name, s.value, $3) FROM unnest($1::text[], $2::text[]) AS s(name, value)';

export interface QuietSession {
  /** Settings the role may not change whose current value exposes the statement. */
  exposedBy: { name: string; value: string; when: 'always' | 'on-error' }[];
  /** Put the changed settings back (a no-op for transaction-local settings). */
  restore(): Promise<void>;
}

/**
 * Turn statement logging and tracking off in this session (or, with `local`,
 * until the end of the current transaction).
 */
export async function quietSession(db: Db, opts: { local?: boolean } = {}): Promise<QuietSession> {
  const rows = await db.query<{ name: string; setting: string; may_set: boolean }>(sqlFor('secret-settings', db.version), [QUIET.map(([n]) => n)]);
  const changed: { name: string; setting: string; value: string }[] = [];
  const exposedBy: QuietSession['exposedBy'] = [];
  for (const [name, value] of QUIET) {
    const row = rows.find((r) => r.name === name);
    if (!row) continue;
    if (!row.may_set) {
      const when = stillLogs(name, row.setting);
      if (when) exposedBy.push({ name, value: row.setting, when });
      continue;
    }
    changed.push({ name, setting: row.setting, value });
  }
  // One round trip each way: the reverse subscription is made just before a switchover's pause.
  if (changed.length > 0) await db.query(SET_ALL, [changed.map((c) => c.name), changed.map((c) => c.value), opts.local ?? false]);
  return {
    exposedBy,
    restore: async () => {
      if (opts.local || changed.length === 0) return;
      await db.query(SET_ALL, [changed.map((c) => c.name), changed.map((c) => c.setting), false]).catch(() => undefined);
    },
  };
}

/** One warning for what the server may still record; nothing when it records nothing. */
export function warnExposure(q: QuietSession, side: string, what: string, emit: Emit): void {
  if (q.exposedBy.length === 0) return;
  const always = q.exposedBy.filter((e) => e.when === 'always');
  const settings = q.exposedBy.map((e) => `${e.name} = ${e.value}`).join(', ');
  const how = always.length > 0 ? 'records' : 'logs, if the statement fails,';
  emit(warning('secret_exposed',
    // sql-lint: safe (a warning, not SQL)
    `the ${side} server ${how} the text of ${what}, secret included (${settings}), and the connecting role may not change that for its session`,
    'connect as a superuser or GRANT SET ON PARAMETER (PostgreSQL 15+); for a subscription, a passfile in conn_from_target / conn_from_source keeps the password out of the statement (see docs/safety-notes.md)'));
}

/** Replace every occurrence of each secret (and its encoded forms) with ********. */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secretForms(secrets)) out = out.split(s).join('********');
  return out;
}

/** A secret as it may appear: raw, percent-encoded, libpq-quoted, SQL-quoted. */
export function secretForms(secrets: readonly string[]): string[] {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    forms.add(s);
    forms.add(encodeURIComponent(s));
    forms.add(s.replace(/\\/g, '\\\\').replace(/'/g, "\\'"));
    forms.add(s.replace(/'/g, "''"));
    forms.add(s.replace(/'/g, "''").replace(/\\/g, '\\\\'));
  }
  // Longest first, so a form is not cut up by a shorter one it contains.
  return [...forms].sort((a, b) => b.length - a.length);
}

/**
 * Run a statement that holds a secret: quiet session around it, its text
 * never attached to an error, the secrets masked in what the server says.
 * `local`: the caller is inside a transaction (settings end with it).
 */
export async function runSecretStatement(db: Db, sql: string, secrets: readonly string[], opts: { what: string; emit?: Emit; local?: boolean }): Promise<void> {
  const quiet = await quietSession(db, { local: opts.local });
  if (opts.emit) warnExposure(quiet, db.side, opts.what, opts.emit);
  if (db.dryRun) {
    // Recorded, never run; the plan is printed, so the secret is masked in it.
    await quiet.restore();
    await db.change(maskSecrets(sql, secrets));
    return;
  }
  try {
    await db.client.query(sql);
  } catch (e) {
    const wrapped = wrapSqlError(e, undefined, db.side);
    if (wrapped instanceof SqlError) {
      const m = (s: string | undefined): string | undefined => (s === undefined ? undefined : maskSecrets(s, secrets));
      // The driver error is dropped as the cause: it may quote the statement.
      throw new SqlError(m(wrapped.message)!, {
        sqlstate: wrapped.sqlstate, detail: m(wrapped.serverDetail), hint: m(wrapped.serverHint), side: db.side,
      }, { hint: m(wrapped.hint) });
    }
    throw wrapped;
  } finally {
    await quiet.restore();
  }
}
