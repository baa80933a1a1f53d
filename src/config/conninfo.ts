// libpq connection strings: key=value and URI forms, parsed into one map of
// libpq keywords, formatted back for the places that need a string (a
// subscription's CONNECTION, a child process's environment), and redacted
// for anything that is shown.

export type ConnParams = Record<string, string>;

export class ConninfoSyntaxError extends Error {}

const URI_PREFIX = /^postgres(?:ql)?:\/\//i;

export function parseConninfo(text: string): ConnParams {
  const trimmed = text.trim();
  if (URI_PREFIX.test(trimmed)) return parseUri(trimmed);
  return parseKeyValue(trimmed);
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
      out[decode(pair.slice(0, eq), 'parameter')] = decode(pair.slice(eq + 1).replace(/\+/g, ' '), 'parameter');
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
  for (const [k, v] of Object.entries(params)) shown[k] = k === 'password' ? '********' : v;
  return Object.entries(shown)
    .map(([k, v]) => (/^[^\s'\\]+$/.test(v) ? `${k}=${v}` : `${k}='${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`))
    .join(' ');
}

/** Short "user@host:port/db" label for reports. Never includes a password. */
export function describeConn(params: ConnParams): string {
  const host = params.host ?? params.hostaddr ?? 'localhost';
  const port = params.port ?? '5432';
  const user = params.user ? `${params.user}@` : '';
  const db = params.dbname ? `/${params.dbname}` : '';
  return `${user}${host}:${port}${db}`;
}

/** libpq keywords mapped to the environment variables child tools read. */
const ENV_FOR: Record<string, string> = {
  host: 'PGHOST',
  hostaddr: 'PGHOSTADDR',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  passfile: 'PGPASSFILE',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  gssencmode: 'PGGSSENCMODE',
  channel_binding: 'PGCHANNELBINDING',
};

/**
 * Environment for a child process (pg_dump, psql, pgbench): every parameter
 * goes through the environment so nothing, the password least of all, shows
 * in the process's argument list.
 */
export function conninfoEnv(params: ConnParams): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) {
    const name = ENV_FOR[k];
    if (name) env[name] = v;
  }
  return env;
}
