// Reading a cluster's server log (log_statement = all) back as entries, a
// small SQL tokenizer that blanks out quoted identifiers, literals and
// comments, and a scanner for a secret in files and text. Used by the
// hostile-names, hostile-passwords and secrets tests; does nothing on import.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { quoteIdent, quoteLiteral } from '../../src/pg/quote.js';

/** Settings that make a cluster log every statement with who ran it. */
export const LOG_EVERYTHING = {
  log_statement: 'all',
  log_min_duration_statement: 0,
  log_min_error_statement: 'error',
  log_min_messages: 'warning',
  // application name and SQLSTATE tell pgshift's statements and errors apart.
  log_line_prefix: '%m [%p] %q<%a> %e ',
} as const;

export interface LogEntry {
  app: string;
  sqlstate: string;
  /** LOG, ERROR, STATEMENT, DETAIL, FATAL, ... */
  level: string;
  text: string;
}

const ENTRY = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] (?:<(.*?)> (\w{5}) )?(\w+):\s+/;

/** Split a server log into entries (a statement may span several lines). */
export function logEntries(log: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of log.split('\n')) {
    const m = ENTRY.exec(line);
    if (m) out.push({ app: m[1] ?? '', sqlstate: m[2] ?? '', level: m[3]!, text: line.slice(m[0].length) });
    else if (out.length > 0) out[out.length - 1]!.text += '\n' + line;
  }
  return out;
}

/** The SQL of entries that log a statement (simple or extended protocol, or with a duration). */
export function loggedStatements(entries: LogEntry[]): { app: string; sql: string }[] {
  const out: { app: string; sql: string }[] = [];
  for (const e of entries) {
    if (e.level !== 'LOG' && e.level !== 'STATEMENT') continue;
    const m = /^(?:duration: [\d.]+ ms\s+)?(?:statement|(?:execute|parse|bind) [^:]*): ([\s\S]*)$/.exec(e.text);
    if (e.level === 'STATEMENT') out.push({ app: e.app, sql: e.text });
    else if (m) out.push({ app: e.app, sql: m[1]! });
  }
  return out;
}

/**
 * The statement with every quoted identifier, string literal (standard,
 * E'' with backslash escapes, dollar-quoted) and comment replaced by a
 * placeholder token, so what is left is what the server parses as keywords.
 */
export function unquoted(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '"') {
      i++;
      while (i < n && !(sql[i] === '"' && sql[i + 1] !== '"')) i += sql[i] === '"' ? 2 : 1;
      i++;
      out += ' IDENT ';
    } else if (c === "'" || ((c === 'E' || c === 'e') && sql[i + 1] === "'" && !/[\w$]/.test(sql[i - 1] ?? ''))) {
      const backslash = c !== "'";
      i += backslash ? 2 : 1;
      while (i < n) {
        if (backslash && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      out += ' LITERAL ';
    } else if (c === '$' && /^\$(?:[A-Za-z_][\w]*)?\$/.test(sql.slice(i)) && !/[\w$]/.test(sql[i - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_][\w]*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      i = end < 0 ? n : end + tag.length;
      out += ' LITERAL ';
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      out += ' COMMENT ';
      i = end < 0 ? n : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      out += ' COMMENT ';
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** What an injected `x";DROP TABLE x;--` would leave in the parsed text of a statement. */
export function injectionIn(sql: string): string | undefined {
  const bare = unquoted(sql);
  if (/\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?x\b/i.test(bare)) return 'DROP TABLE x outside quotes';
  if (/;\s*COMMENT\b/.test(bare)) return ';-- outside quotes';
  return undefined;
}

/** Every form in which a password could leak: raw, percent-encoded, libpq-escaped, SQL-quoted. */
export function leakForms(password: string): string[] {
  return [...new Set([
    password,
    encodeURIComponent(password),
    password.replace(/\\/g, '\\\\').replace(/'/g, "\\'"),
    password.replace(/'/g, "''"),
    JSON.stringify(password).slice(1, -1),
  ])];
}

/** Files under dir (recursively) whose content holds any needle: [path, needle]. */
export function filesHolding(dir: string, needles: string[]): [string, string][] {
  const found: [string, string][] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size < 64 * 1024 * 1024) {
        const text = readFileSync(p).toString('latin1') + '\n' + readFileSync(p, 'utf8');
        for (const needle of needles) if (text.includes(needle)) found.push([p, needle]);
      }
    }
  };
  walk(dir);
  return found;
}

/** Which needles occur in a text. */
export function holding(text: string, needles: string[]): string[] {
  return needles.filter((n) => text.includes(n));
}

/**
 * Create or alter a login role's password without the statement reaching
 * the server log or pg_stat_statements; for the superuser, the harness uses
 * the new password from then on.
 */
export async function setPassword(c: EmbeddedCluster, role: string, password: string, attributes = ''): Promise<void> {
  const client = await c.client();
  try {
    await client.query("SET log_statement = 'none'; SET log_min_duration_statement = -1; SET log_min_error_statement = 'panic'");
    await client.query("SELECT set_config('pg_stat_statements.track_utility', 'off', false) FROM pg_settings WHERE name = 'pg_stat_statements.track_utility'");
    const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount;
    await client.query(`${exists ? 'ALTER' : 'CREATE'} ROLE ${quoteIdent(role)} ${attributes} PASSWORD ${quoteLiteral(password)}`);
  } finally {
    await client.end();
  }
  if (role === c.superuser) c.password = password;
}
