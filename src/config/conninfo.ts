// libpq connection strings, resolved the way libpq resolves them, so that
// pgshift's own connections, the client tools it starts and the
// subscription's CONNECTION all mean the same server:
//   - key=value and URI forms, parsed into one map of libpq keywords; a
//     keyword libpq does not know is an error naming it;
//   - precedence (libpq's conninfo_add_defaults): what the string says, then
//     the service (service= or PGSERVICE; PGSERVICEFILE or ~/.pg_service.conf
//     first, then PGSYSCONFDIR/pg_service.conf), then the PG* environment
//     variable of each keyword, then the compiled-in default;
//   - the password file (passfile / PGPASSFILE / ~/.pgpass) read explicitly,
//     with libpq's matching rules, never node-postgres's implicit lookup.
// Formatting back to a string (a subscription's CONNECTION, a child's
// environment) and redaction for anything shown live here too.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';

export type ConnParams = Record<string, string>;

export class ConninfoSyntaxError extends Error {}

/**
 * Every keyword libpq 18 accepts, with the environment variable that supplies
 * its default (null: none). From PQconninfoOptions in libpq's fe-connect.c.
 */
export const LIBPQ_KEYWORDS: Readonly<Record<string, string | null>> = {
  service: 'PGSERVICE',
  servicefile: 'PGSERVICEFILE',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  passfile: 'PGPASSFILE',
  channel_binding: 'PGCHANNELBINDING',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  dbname: 'PGDATABASE',
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  client_encoding: 'PGCLIENTENCODING',
  options: 'PGOPTIONS',
  application_name: 'PGAPPNAME',
  fallback_application_name: null,
  keepalives: null,
  keepalives_idle: null,
  keepalives_interval: null,
  keepalives_count: null,
  tcp_user_timeout: null,
  sslmode: 'PGSSLMODE',
  sslnegotiation: 'PGSSLNEGOTIATION',
  sslcompression: 'PGSSLCOMPRESSION',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcertmode: 'PGSSLCERTMODE',
  sslpassword: null,
  sslkeylogfile: 'PGSSLKEYLOGFILE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcrl: 'PGSSLCRL',
  sslcrldir: 'PGSSLCRLDIR',
  sslsni: 'PGSSLSNI',
  requirepeer: 'PGREQUIREPEER',
  require_auth: 'PGREQUIREAUTH',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION',
  ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  min_protocol_version: 'PGMINPROTOCOLVERSION',
  max_protocol_version: 'PGMAXPROTOCOLVERSION',
  gssencmode: 'PGGSSENCMODE',
  krbsrvname: 'PGKRBSRVNAME',
  gsslib: 'PGGSSLIB',
  gssdelegation: 'PGGSSDELEGATION',
  replication: null,
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  load_balance_hosts: 'PGLOADBALANCEHOSTS',
  scram_client_key: null,
  scram_server_key: null,
  oauth_issuer: null,
  oauth_client_id: null,
  oauth_client_secret: null,
  oauth_scope: null,
};

/** Debian's libpq (the one pg_dump and psql use here): its socket directory and sysconfdir. */
export const DEFAULT_SOCKET_DIR = '/var/run/postgresql';
const UPSTREAM_SOCKET_DIR = '/tmp';
export const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';
export const DEFAULT_PORT = '5432';

const URI_PREFIX = /^postgres(?:ql)?:\/\//i;

/** Parse a key=value string or a URI. Syntax only: see checkKeywords for unknown keywords. */
export function parseConninfo(text: string): ConnParams {
  const trimmed = text.trim();
  if (URI_PREFIX.test(trimmed)) return parseUri(trimmed);
  return parseKeyValue(trimmed);
}

/** Parse and refuse any keyword libpq would refuse ("invalid connection option"). */
export function parseLibpqConninfo(text: string): ConnParams {
  const params = parseConninfo(text);
  checkKeywords(params);
  return params;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export function checkKeywords(params: ConnParams): void {
  for (const key of Object.keys(params)) {
    if (key in LIBPQ_KEYWORDS) continue;
    const near = Object.keys(LIBPQ_KEYWORDS).filter((k) => editDistance(k, key) <= 2).sort((a, b) => editDistance(a, key) - editDistance(b, key));
    throw new ConninfoSyntaxError(`invalid connection option "${key}"${near.length ? ` (did you mean "${near[0]}"?)` : ''}`);
  }
}

function parseKeyValue(s: string): ConnParams {
  const out: ConnParams = {};
  let i = 0;
  const n = s.length;
  const skipWs = (): void => {
    while (i < n && /\s/.test(s[i]!)) i++;
  };
  while (true) {
    skipWs();
    if (i >= n) break;
    let key = '';
    while (i < n && s[i] !== '=' && !/\s/.test(s[i]!)) key += s[i++];
    skipWs();
    if (s[i] !== '=') {
      throw new ConninfoSyntaxError(`missing "=" after "${key}" in connection info string`);
    }
    i++;
    skipWs();
    let value = '';
    if (s[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = s[i]!;
        if (c === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        if (c === "'") {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new ConninfoSyntaxError('unterminated quoted string in connection info string');
    } else {
      while (i < n && !/\s/.test(s[i]!)) {
        if (s[i] === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        value += s[i++];
      }
    }
    if (!key) throw new ConninfoSyntaxError('empty keyword in connection info string');
    out[key] = value;
  }
  return out;
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConninfoSyntaxError(`invalid percent-encoding in URI ${what}`);
  }
}

function parseUri(s: string): ConnParams {
  const out: ConnParams = {};
  let rest = s.replace(URI_PREFIX, '');
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let path = '';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    path = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      const user = userinfo.slice(0, colon);
      if (user) out.user = decode(user, 'user');
      out.password = decode(userinfo.slice(colon + 1), 'password');
    } else if (userinfo) {
      out.user = decode(userinfo, 'user');
    }
  }
  if (rest) {
    const hosts: string[] = [];
    const ports: string[] = [];
    for (const hp of rest.split(',')) {
      let host = hp;
      let port = '';
      if (hp.startsWith('[')) {
        const close = hp.indexOf(']');
        if (close < 0) throw new ConninfoSyntaxError('unterminated IPv6 address in URI');
        host = hp.slice(1, close);
        const after = hp.slice(close + 1);
        if (after.startsWith(':')) port = after.slice(1);
      } else {
        const colon = hp.lastIndexOf(':');
        if (colon >= 0) {
          host = hp.slice(0, colon);
          port = hp.slice(colon + 1);
        }
      }
      hosts.push(decode(host, 'host'));
      ports.push(port);
    }
    if (hosts.some((h) => h)) out.host = hosts.join(',');
    if (ports.some((p) => p)) out.port = ports.join(',');
  }
  if (path) out.dbname = decode(path, 'database name');
  if (query) {
    for (const pair of query.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw new ConninfoSyntaxError(`URI parameter "${pair}" has no value`);
      // libpq decodes %XX only: a "+" in a URI parameter is a plus sign.
      let key = decode(pair.slice(0, eq), 'parameter');
      let value = decode(pair.slice(eq + 1), 'parameter');
      // libpq's JDBC compatibility: ssl=true means sslmode=require.
      if (key === 'ssl' && value === 'true') {
        key = 'sslmode';
        value = 'require';
      }
      out[key] = value;
    }
  }
  return out;
}

/** Format as a libpq key=value string, every value quoted. */
export function formatConninfo(params: ConnParams): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}='${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

/** The same string with any password masked: for messages and logs. */
export function redactConninfo(params: ConnParams): string {
  const shown: ConnParams = {};
  for (const [k, v] of Object.entries(params)) shown[k] = k === 'password' || k === 'sslpassword' || k === 'oauth_client_secret' ? '********' : v;
  return Object.entries(shown)
    .map(([k, v]) => (/^[^\s'\\]+$/.test(v) ? `${k}=${v}` : `${k}='${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`))
    .join(' ');
}

/** Short "user@host:port/db" label for reports and errors. Never includes a password. */
export function describeConn(params: ConnParams): string {
  const host = params.host || params.hostaddr || 'localhost';
  const port = params.port || DEFAULT_PORT;
  const user = params.user ? `${params.user}@` : '';
  const db = params.dbname ? `/${params.dbname}` : '';
  return `${user}${host}:${port}${db}`;
}

export type Env = Record<string, string | undefined>;

export interface ResolveOptions {
  env?: Env;
  /** The home directory for ~/.pg_service.conf and ~/.pgpass (default: $HOME, else the account's). */
  home?: string;
  /** The operating-system user name, libpq's default user. */
  osUser?: string;
}

function homeOf(opts: ResolveOptions): string {
  const env = opts.env ?? process.env;
  return opts.home ?? (env.HOME || homedir());
}

function osUserOf(opts: ResolveOptions): string {
  if (opts.osUser) return opts.osUser;
  try {
    return userInfo().username;
  } catch {
    return (opts.env ?? process.env).USER ?? 'postgres';
  }
}

/**
 * One service's parameters, read with libpq's rules (parseServiceFile):
 * lines are trimmed, blank and "#" lines skipped, "[name]" opens a section,
 * "key=value" split at the first "=" and not trimmed further; an unknown
 * keyword or a nested "service" is an error naming the file and line.
 * Returns undefined when the file has no such section.
 */
export function readServiceFile(file: string, service: string): ConnParams | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConninfoSyntaxError(`service file "${file}" not found`);
  }
  let found = false;
  const out: ConnParams = {};
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('[')) {
      if (found) break;
      found = line.slice(1, service.length + 1) === service && line[service.length + 1] === ']';
      continue;
    }
    if (!found) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new ConninfoSyntaxError(`syntax error in service file "${file}", line ${n + 1}`);
    const key = line.slice(0, eq);
    if (key === 'service') throw new ConninfoSyntaxError(`nested service specifications not supported in service file "${file}", line ${n + 1}`);
    if (!(key in LIBPQ_KEYWORDS)) throw new ConninfoSyntaxError(`syntax error in service file "${file}", line ${n + 1} (unknown keyword "${key}")`);
    if (out[key] === undefined) out[key] = line.slice(eq + 1);
  }
  return found ? out : undefined;
}

/**
 * The service's parameters (libpq's parseServiceInfo): the per-user file
 * (servicefile / PGSERVICEFILE, else ~/.pg_service.conf when it exists)
 * first, then PGSYSCONFDIR/pg_service.conf; a service found in neither is an
 * error.
 */
export function serviceParams(service: string, servicefile: string | undefined, opts: ResolveOptions = {}): { params: ConnParams; file: string } {
  const env = opts.env ?? process.env;
  const userFile = servicefile ?? join(homeOf(opts), '.pg_service.conf');
  if (servicefile !== undefined || existsSync(userFile)) {
    const params = readServiceFile(userFile, service);
    if (params) return { params, file: userFile };
  }
  const sysFile = join(env.PGSYSCONFDIR || DEFAULT_SYSCONFDIR, 'pg_service.conf');
  if (existsSync(sysFile)) {
    const params = readServiceFile(sysFile, service);
    if (params) return { params, file: sysFile };
  }
  throw new ConninfoSyntaxError(`definition of service "${service}" not found`);
}

/** The socket directory libpq uses when no host is given: Debian's, else upstream's /tmp. */
export function defaultSocketDir(port: string): string {
  for (const dir of [DEFAULT_SOCKET_DIR, UPSTREAM_SOCKET_DIR]) if (existsSync(join(dir, `.s.PGSQL.${port}`))) return dir;
  return existsSync(DEFAULT_SOCKET_DIR) ? DEFAULT_SOCKET_DIR : UPSTREAM_SOCKET_DIR;
}

/**
 * Resolve a connection string as libpq does before it connects: the string's
 * own keywords, then the service's, then the environment's, then libpq's
 * defaults for host (the Unix socket directory), port (5432) and user (the
 * operating-system user). The service keywords themselves are consumed. The
 * database is left to the caller (pgshift connects to each migrated
 * database, and to "postgres" for cluster-wide work, unless dbname or
 * PGDATABASE says otherwise). Idempotent.
 */
export function resolveConninfo(params: ConnParams, opts: ResolveOptions = {}): ConnParams {
  const env = opts.env ?? process.env;
  checkKeywords(params);
  const out: ConnParams = { ...params };
  const service = out.service ?? env.PGSERVICE;
  const servicefile = out.servicefile ?? env.PGSERVICEFILE;
  delete out.service;
  delete out.servicefile;
  if (service) {
    for (const [k, v] of Object.entries(serviceParams(service, servicefile, opts).params)) if (out[k] === undefined) out[k] = v;
  }
  for (const [keyword, envvar] of Object.entries(LIBPQ_KEYWORDS)) {
    if (keyword === 'service' || keyword === 'servicefile' || envvar === null || out[keyword] !== undefined) continue;
    const v = env[envvar];
    if (v !== undefined) out[keyword] = v;
  }
  if (!out.port) out.port = DEFAULT_PORT;
  if (!out.host && !out.hostaddr) out.host = defaultSocketDir(out.port);
  if (!out.user) out.user = osUserOf(opts);
  return out;
}

/** Why pgshift will not use these parameters for its own connections, or undefined. */
export function unsupportedForPgshift(params: ConnParams): string | undefined {
  for (const k of ['host', 'hostaddr', 'port'] as const) {
    if (params[k]?.includes(',')) {
      return `${k} lists several servers (${params[k]}): pgshift acts on exactly one cluster, checked by its system identifier; name that cluster's primary alone`;
    }
  }
  const cannot: [string, (v: string) => boolean, string][] = [
    ['require_auth', () => true, 'pgshift cannot restrict the authentication methods it accepts'],
    ['requirepeer', () => true, 'pgshift cannot check the peer of a Unix socket'],
    ['channel_binding', (v) => v === 'require', 'pgshift cannot require SCRAM channel binding'],
    ['gssencmode', (v) => v === 'require', 'pgshift cannot use GSSAPI encryption'],
    ['sslcertmode', (v) => v === 'require', 'pgshift cannot require the server to ask for a client certificate'],
    ['sslnegotiation', (v) => v === 'direct', 'pgshift negotiates TLS the PostgreSQL way only'],
    ['replication', () => true, 'pgshift opens replication connections itself where it needs them'],
  ];
  for (const [key, when, why] of cannot) {
    const v = params[key];
    if (v !== undefined && v !== '' && when(v)) return `${key}=${v} is not supported: ${why}`;
  }
  return undefined;
}

export interface PgpassTarget {
  host?: string;
  hostaddr?: string;
  port?: string;
  dbname?: string;
  user?: string;
}

/** The password file libpq would read for these (resolved) parameters. */
export function passfilePath(params: ConnParams, opts: ResolveOptions = {}): string {
  return params.passfile || join(homeOf(opts), '.pgpass');
}

/** A field of a pgpass line matched against a value (libpq's pwdfMatchesString); the rest of the line, or undefined. */
function matchField(line: string, value: string): string | undefined {
  if (line.startsWith('*:')) return line.slice(2);
  let i = 0;
  let j = 0;
  while (i < line.length) {
    let escaped = false;
    if (line[i] === '\\') {
      i++;
      escaped = true;
    }
    if (i >= line.length) return undefined;
    if (line[i] === ':' && j === value.length && !escaped) return line.slice(i + 1);
    if (j === value.length || line[i] !== value[j]) return undefined;
    i++;
    j++;
  }
  return undefined;
}

/** The password field: up to the first unescaped ":", backslash escapes removed. */
function passwordField(rest: string): string {
  let out = '';
  for (let i = 0; i < rest.length && rest[i] !== ':'; i++) {
    if (rest[i] === '\\' && i + 1 < rest.length) i++;
    out += rest[i];
  }
  return out;
}

export interface PgpassResult {
  password?: string;
  /** Why the file was skipped (libpq warns and ignores it), if it was. */
  warning?: string;
  file: string;
}

/**
 * Look a password up in a password file with libpq's rules (passwordFromFile):
 * host (else hostaddr; "localhost" for no host or the default socket
 * directory), port, database and user compared field by field, "*" matching
 * anything, "\:" and "\\" escapes; "#" lines are comments; the first match
 * wins. A file with group or world access, or not a plain file, is ignored
 * (and the reason returned) as libpq ignores it.
 */
export function lookupPgpass(file: string, t: PgpassTarget): PgpassResult {
  if (!t.dbname || !t.user) return { file };
  let host = t.host || t.hostaddr || '';
  if (host === '' || host === DEFAULT_SOCKET_DIR) host = 'localhost';
  const port = t.port || DEFAULT_PORT;
  let st;
  try {
    st = statSync(file);
  } catch {
    return { file };
  }
  if (!st.isFile()) return { file, warning: `password file "${file}" is not a plain file` };
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
    return { file, warning: `password file "${file}" has group or world access; permissions should be u=rw (0600) or less` };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { file };
  }
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const line = raw.replace(/[\r\n]+$/, '');
    if (!line) continue;
    let rest: string | undefined = line;
    for (const v of [host, port, t.dbname, t.user]) {
      rest = matchField(rest, v);
      if (rest === undefined) break;
    }
    if (rest !== undefined) return { file, password: passwordField(rest) };
  }
  return { file };
}

/** The pgpass lookup for resolved parameters and the database actually connected to. */
export function pgpassFor(params: ConnParams, database: string | undefined, opts: ResolveOptions = {}): PgpassResult {
  return lookupPgpass(passfilePath(params, opts), { host: params.host, hostaddr: params.hostaddr, port: params.port, dbname: database ?? params.dbname, user: params.user });
}

/**
 * Every password a password file holds for this host, port and user, any
 * database: the CLI masks them wherever it prints, like configured passwords.
 */
export function pgpassSecrets(params: ConnParams, opts: ResolveOptions = {}): string[] {
  const out: string[] = [];
  const file = passfilePath(params, opts);
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) return out;
    text = readFileSync(file, 'utf8');
  } catch {
    return out;
  }
  for (const raw of text.split('\n')) {
    if (raw.startsWith('#')) continue;
    const line = raw.replace(/[\r\n]+$/, '');
    const password = line ? matchAnyDb(line, params) : undefined;
    if (password) out.push(password);
  }
  return out;
}

function matchAnyDb(line: string, params: ConnParams): string | undefined {
  let host = params.host || params.hostaddr || '';
  if (host === '' || host === DEFAULT_SOCKET_DIR) host = 'localhost';
  let rest = matchField(line, host);
  if (rest !== undefined) rest = matchField(rest, params.port || DEFAULT_PORT);
  if (rest === undefined) return undefined;
  // Skip the database field whatever it says.
  let i = 0;
  while (i < rest.length && rest[i] !== ':') i += rest[i] === '\\' ? 2 : 1;
  rest = matchField(rest.slice(i + 1), params.user ?? '');
  return rest === undefined ? undefined : passwordField(rest);
}

/**
 * Environment for a child process (pg_dump, psql, pgbench): every parameter
 * goes through the environment so nothing, the password least of all, shows
 * in the process's argument list. The service keywords never go: the
 * parameters are already resolved, and a child reading the service file
 * again would let it override what the connection string said.
 */
export function conninfoEnv(params: ConnParams): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const name = LIBPQ_KEYWORDS[k];
    if (name && k !== 'service' && k !== 'servicefile') env[name] = v;
  }
  return env;
}
