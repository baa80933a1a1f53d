// Dry runs: a command that changes clusters (start, cleanup; switchover and
// rollback can reuse this) runs every read and every check for real, so its
// plan reflects the clusters as they are, and records each change instead of
// making it: the statement, the side and the database, in order, grouped by
// step. Nothing is guessed from SQL text: a statement that changes something
// is marked where it is issued, with Db.change() (src/pg/connect.ts), which
// runs it normally and only records it on a dry-run connection. Child
// programs are recorded as their command line (plan.command()).
//
// How to use it in a command:
//   const plan = new DryRun();
//   const db = await connect(side, ep, { database, dryRun: plan });  // every connection of the run
//   plan.step('publication');                                        // a heading for what follows
//   await db.change('ALTER ... $1', [value]);                        // recorded, not run
//   ... then render plan.statements (src/cli/dry-run.ts).
// Session plumbing (SET lock_timeout, the quiet settings around a secret
// statement) still runs: it changes only pgshift's own session.
//
// Backstops, for a change that was not marked:
// - a dry-run connection is opened with default_transaction_read_only = on,
//   which stops DDL and DML;
// - it does NOT stop what PostgreSQL runs outside the transaction's
//   read-only rule, tried against a real server (15 and 17):
//   pg_create_logical_replication_slot, pg_drop_replication_slot,
//   pg_replication_origin_create / _drop, pg_terminate_backend,
//   ALTER SYSTEM, pg_reload_conf, pg_switch_wal, CHECKPOINT, advisory locks,
//   and anything after SET TRANSACTION READ WRITE (or with
//   default_transaction_read_only turned off). Those are refused on a dry-run
//   connection by Db.query (escapesReadOnly below): only Db.change may name
//   them, and it records them.
// CREATE / ALTER / DROP SUBSCRIPTION (which reach the publisher and create
// or drop its slot) are stopped by the read-only transaction, and are marked
// as changes besides.

import { quoteLiteral } from './quote.js';

/** A cluster of the pair (connect.ts's Side; spelled out here, as connect.ts imports this module). */
type Side = 'source' | 'target';

export interface PlannedStatement {
  /** 1-based position in the plan. */
  n: number;
  /** The step it belongs to, as the plan's headings say it. */
  step: string;
  side: Side;
  /** The database the statement runs in (or the program connects to). */
  database: string;
  /** The statement, parameters shown as SQL literals, secrets masked; absent for a program. */
  sql?: string;
  /** A child program's command line (passwords never are on it: they go through the environment). */
  command?: string;
  /** Sent to PgBouncer's admin console (for the database PgBouncer names so), not to a cluster. */
  pgbouncer?: true;
  /** When or why: "only if ...", what else it does. */
  note?: string;
}

/** The recorder of one dry run. */
export class DryRun {
  readonly statements: PlannedStatement[] = [];
  private current = 'plan';

  /** Statements recorded from now on belong to this step. */
  step(name: string): void {
    this.current = name;
  }

  record(side: Side, database: string, sql: string, note?: string): void {
    this.statements.push({ n: this.statements.length + 1, step: this.current, side, database, sql, ...(note ? { note } : {}) });
  }

  /** What happens at this point without a change to show (a wait, a check): the note alone. */
  note(side: Side, database: string, note: string): void {
    this.statements.push({ n: this.statements.length + 1, step: this.current, side, database, note });
  }

  /** A command for PgBouncer's admin console, or (sql absent) what pgshift would do to PgBouncer's config file. */
  pgbouncer(side: Side, database: string, sql: string | undefined, note?: string): void {
    this.statements.push({ n: this.statements.length + 1, step: this.current, side, database, ...(sql ? { sql } : {}), pgbouncer: true, ...(note ? { note } : {}) });
  }

  /** Add another plan's statements after these, renumbered (prefix: put before each step name). */
  append(other: DryRun, prefix = ''): void {
    for (const s of other.statements) this.statements.push({ ...s, n: this.statements.length + 1, step: prefix + s.step });
  }

  /** A child program pgshift would run (argv as it would be given, no password on it). */
  command(side: Side, database: string, argv: readonly string[], note?: string): void {
    this.statements.push({ n: this.statements.length + 1, step: this.current, side, database, command: shellLine(argv), ...(note ? { note } : {}) });
  }
}

/** A command line a person can paste into a POSIX shell. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A value as node-postgres sends it (text form), null for SQL NULL. Mirrors pg's prepareValue. */
function textForm(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return arrayText(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function arrayText(items: unknown[]): string {
  const parts = items.map((x) => {
    if (Array.isArray(x)) return arrayText(x);
    const t = textForm(x);
    return t === null ? 'NULL' : `"${t.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(',')}}`;
}

/**
 * A bound parameter as an SQL literal that means what the bound value means:
 * node-postgres sends parameters as untyped text, which is what a quoted
 * literal is. Plain numbers and booleans are written bare, for reading.
 */
export function sqlValueLiteral(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if ((typeof v === 'number' && Number.isFinite(v) && v >= 0 && !Object.is(v, -0)) || (typeof v === 'bigint' && v >= 0n)) return String(v);
  const t = textForm(v);
  return t === null ? 'NULL' : quoteLiteral(t);
}

/**
 * The statement with each $n replaced by its parameter as a literal, so it
 * can be pasted into psql. $n inside string literals, quoted identifiers,
 * dollar-quoted bodies and comments is left alone.
 */
export function renderStatement(sql: string, params: readonly unknown[] = []): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      // Block comments nest in PostgreSQL.
      let depth = 0;
      let j = i;
      while (j < n) {
        if (sql[j] === '/' && sql[j + 1] === '*') { depth++; j += 2; continue; }
        if (sql[j] === '*' && sql[j + 1] === '/') { depth--; j += 2; if (depth === 0) break; continue; }
        j++;
      }
      out += sql.slice(i, j);
      i = j;
    } else if (c === "'" || c === '"') {
      // E'' strings take backslash escapes; other strings and quoted identifiers only doubled quotes.
      const escapes = c === "'" && i > 0 && /[eE]/.test(sql[i - 1]!) && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? ' ');
      const end = skipQuoted(sql, i, c, escapes);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '$') {
      const param = /^\$(\d+)/.exec(sql.slice(i));
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      const inWord = i > 0 && /[A-Za-z0-9_]/.test(sql[i - 1]!);
      if (param && !inWord) {
        const k = Number(param[1]);
        if (k < 1 || k > params.length) throw new RangeError(`renderStatement: $${k} has no parameter (${params.length} given)`);
        out += sqlValueLiteral(params[k - 1]);
        i += param[0].length;
      } else if (tag && !inWord) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        const stop = end < 0 ? n : end + tag[0].length;
        out += sql.slice(i, stop);
        i = stop;
      } else {
        out += c;
        i++;
      }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/**
 * Where the string literal or quoted identifier opening at i ends (just past
 * its closing quote, or past the end of an unterminated one): a doubled quote
 * continues it, and with escapes (an E'' string) a backslash takes the next
 * character.
 */
function skipQuoted(sql: string, i: number, quote: "'" | '"', escapes: boolean): number {
  let j = i + 1;
  while (j < sql.length) {
    if (escapes && sql[j] === '\\') { j += 2; continue; }
    if (sql[j] === quote) {
      if (sql[j + 1] === quote) { j += 2; continue; }
      break;
    }
    j++;
  }
  return j + 1;
}

/** The statement as the plan shows it: the .sql file's contract comments dropped, one trailing semicolon. */
export function planText(sql: string, params: readonly unknown[] = []): string {
  const lines = renderStatement(sql, params).split('\n');
  while (lines.length > 0 && /^\s*(--.*)?$/.test(lines[0]!)) lines.shift();
  const text = lines.join('\n').trimEnd().replace(/;+$/, '');
  return `${text};`;
}

/**
 * Statements that change a cluster although the session is read-only
 * (tried against real servers, see the header), or that would make it
 * writable. A dry-run connection refuses these from Db.query: they must go
 * through Db.change, which records them.
 */
const ESCAPES_READ_ONLY = [
  /\bpg_(create_(logical|physical)|drop|copy_(logical|physical))_replication_slot\b/i,
  /\bpg_replication_slot_advance\b/i,
  /\bpg_logical_slot_get_(binary_)?changes\b/i,
  /\bpg_replication_origin_(create|drop|advance|session_setup)\b/i,
  /\bpg_(terminate|cancel)_backend\b/i,
  /\bpg_reload_conf\b/i,
  /\bpg_switch_wal\b/i,
  /\bALTER\s+SYSTEM\b/i,
  /^\s*CHECKPOINT\b/i,
  /\bpg_(try_)?advisory_(xact_)?lock\b/i,
  /\bREAD\s+WRITE\b/i,
  /\bSET\s+(SESSION\s+|LOCAL\s+)?(default_)?transaction_read_only\b/i,
  /\bset_config\s*\(\s*'(default_)?transaction_read_only'/i,
  /\bRESET\s+(ALL|(default_)?transaction_read_only)\b/i,
];

/** Does this statement escape a read-only session? (Then only Db.change may run it in a dry run.) */
export function escapesReadOnly(sql: string): boolean {
  // Comments name such functions in the .sql files' contracts without calling them.
  const code = sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
  return ESCAPES_READ_ONLY.some((re) => re.test(code));
}
