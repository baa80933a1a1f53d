// Connections. Every connection pgshift opens to a configured cluster checks
// the cluster's system_identifier against the config before it is used, and
// refuses (exit 3) any other cluster. Errors never carry a password.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import pg from 'pg';
import type { Config, EndpointConfig } from '../config/config.js';
import {
  ConninfoSyntaxError, describeConn, pgpassFor, resolveConninfo, unsupportedForPgshift, type ConnParams, type PgpassResult,
} from '../config/conninfo.js';
import { ConnectionError, SafetyError, UsageError, wrapSqlError, type PgshiftError } from '../errors.js';
import { versionFromNum, type ServerVersion } from './version.js';

export type Side = 'source' | 'target';

export const APPLICATION_NAME = 'pgshift';

export interface ConnectOptions {
  /** Database to connect to; defaults to the conn string's dbname, else "postgres". */
  database?: string;
  applicationName?: string;
  /** Open a logical replication connection (for slots with exported snapshots). */
  replication?: 'database';
  /** Skip the system_identifier check. Only `init` does this, to learn it. */
  skipIdentityCheck?: boolean;
  /** Bounded wait for the TCP connection and authentication. */
  connectTimeoutMs?: number;
}

export interface QueryResultRow {
  [column: string]: unknown;
}

/** A connection to one database of a verified cluster. */
export class Db {
  constructor(
    readonly client: pg.Client,
    readonly side: Side,
    readonly database: string,
    readonly version: ServerVersion,
    readonly systemIdentifier: string,
    readonly label: string,
  ) {}

  async query<T extends QueryResultRow = QueryResultRow>(text: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      const r = await this.client.query<T>(text, params as unknown[]);
      return r.rows;
    } catch (e) {
      throw wrapSqlError(e, text, this.side);
    }
  }

  async one<T extends QueryResultRow = QueryResultRow>(text: string, params: readonly unknown[] = []): Promise<T> {
    const rows = await this.query<T>(text, params);
    if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}: ${text.slice(0, 80)}`);
    return rows[0]!;
  }

  async maybeOne<T extends QueryResultRow = QueryResultRow>(text: string, params: readonly unknown[] = []): Promise<T | undefined> {
    const rows = await this.query<T>(text, params);
    return rows[0];
  }

  /** The backend pid of this session, so pgshift can tell its own sessions apart. */
  async pid(): Promise<number> {
    const r = await this.one<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return r.pid;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}

type SslOption = pg.ClientConfig['ssl'];

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

function readSslFile(key: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConnectionError('ssl_file', `cannot read ${key} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: `Check the ${key} path in the connection string (pgshift reads it on this machine; a subscription's copy is read by the target server).`,
    });
  }
}

/** libpq's sslmode (the parameters are resolved: PGSSLMODE is already in them), else prefer. */
function sslMode(params: ConnParams): string {
  const mode = params.sslmode || 'prefer';
  if (!SSL_MODES.includes(mode)) {
    throw new ConnectionError('bad_sslmode', `invalid sslmode "${mode}"`, { hint: `Use one of ${SSL_MODES.join(', ')}.` });
  }
  return mode;
}

/** libpq's default for a TLS file the parameters do not name: ~/.postgresql/<name>, when it exists. */
function userSslFile(name: string): string | undefined {
  const p = join(process.env.HOME || homedir(), '.postgresql', name);
  return existsSync(p) ? p : undefined;
}

/**
 * node-postgres TLS options for an encrypted attempt, with libpq's meaning of
 * sslmode: require checks nothing unless a root certificate is given (then it
 * is verify-ca), verify-ca checks the chain, verify-full the chain and the
 * host name. sslrootcert=system (libpq 16) is the system's trusted CAs and
 * implies verify-full, as in libpq. Like libpq, ~/.postgresql/root.crt,
 * postgresql.crt and postgresql.key are used when the parameters name none.
 * With hostaddr, the certificate is checked against host, as libpq does.
 */
function tlsOption(params: ConnParams, mode: string): SslOption {
  const rootcert = params.sslrootcert || userSslFile('root.crt');
  const system = rootcert === 'system';
  const ca = rootcert && !system ? readSslFile('sslrootcert', rootcert) : undefined;
  const certPath = params.sslcert || userSslFile('postgresql.crt');
  const keyPath = params.sslkey || (certPath ? userSslFile('postgresql.key') : undefined);
  const cert = certPath ? readSslFile('sslcert', certPath) : undefined;
  const key = keyPath ? readSslFile('sslkey', keyPath) : undefined;
  const crl = params.sslcrl ? readSslFile('sslcrl', params.sslcrl) : undefined;
  const client = {
    ...(cert ? { cert } : {}), ...(key ? { key } : {}), ...(crl ? { crl } : {}),
    ...(params.sslpassword ? { passphrase: params.sslpassword } : {}),
  };
  const name = params.hostaddr && params.host ? params.host : undefined;
  const identity = name ? { servername: name, checkServerIdentity: (_: string, c: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(name, c) } : {};
  if (mode === 'verify-full' || system) return { ...client, ...(ca ? { ca } : {}), ...identity, rejectUnauthorized: true };
  if (mode === 'verify-ca' || ca) return { ...client, ...(ca ? { ca } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined };
  return { ...client, rejectUnauthorized: false };
}

/**
 * The TLS settings to try, in order, as libpq does: prefer (the default) tries
 * TLS first and falls back to plain text only when the server has no TLS;
 * allow tries plain text first and TLS when the server rejects that; require
 * and stronger never fall back.
 */
export function sslAttempts(raw: ConnParams): SslOption[] {
  const params = resolvedParams(raw, 'connection');
  const mode = sslMode(params);
  if (mode === 'disable') return [false];
  if (mode === 'allow') return [false, tlsOption(params, mode)];
  if (mode === 'prefer') return [tlsOption(params, mode), false];
  return [tlsOption(params, mode)];
}

/** Whether a failed attempt is one the next sslAttempts entry is meant for. */
function shouldFallBack(e: unknown, tried: SslOption): boolean {
  const err = e as { code?: string; message?: string };
  if (tried) return /does not support SSL/i.test(err.message ?? '');
  // The server's pg_hba.conf wants TLS (hostnossl reject, or only hostssl lines).
  return err.code === '28000' && /no encryption|SSL off/i.test(err.message ?? '');
}

/** Plain text first for allow and prefer: for callers that make one attempt (PgBouncer's console, the load generator). */
function plainFirst(params: ConnParams): SslOption {
  const attempts = sslAttempts(params);
  return attempts.includes(false) ? false : attempts[0];
}

/**
 * Parameters resolved as libpq resolves them (service, PG* environment,
 * defaults) and checked for what pgshift cannot honour. Idempotent: a config
 * already resolved them once; init and other callers pass raw strings.
 */
export function resolvedParams(params: ConnParams, what: string): ConnParams {
  let resolved: ConnParams;
  try {
    resolved = resolveConninfo(params);
  } catch (e) {
    if (e instanceof ConninfoSyntaxError) throw new UsageError(`${what}: ${e.message}`);
    throw e;
  }
  const unsupported = unsupportedForPgshift(resolved);
  if (unsupported) throw new UsageError(`${what}: ${unsupported}`);
  return resolved;
}

/**
 * node-postgres client options from libpq parameters. `ssl` is the first of
 * sslAttempts (plain text first for allow and prefer); connect() also makes
 * the fallback attempt libpq would. Without a password, the password file is
 * read by pgshift (libpq's rules, for the database actually connected to)
 * when the server asks, never by node-postgres's implicit lookup.
 */
export function clientConfig(raw: ConnParams, password: string | undefined, opts: ConnectOptions, ssl?: SslOption, onPgpass?: (r: PgpassResult) => void): pg.ClientConfig {
  const params = resolvedParams(raw, 'connection');
  const timeoutSec = params.connect_timeout ? Number(params.connect_timeout) : undefined;
  const database = opts.database ?? params.dbname ?? 'postgres';
  const cfg: pg.ClientConfig = {
    host: params.hostaddr || params.host,
    port: Number(params.port),
    user: params.user,
    database,
    application_name: opts.applicationName ?? APPLICATION_NAME,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? (timeoutSec ? timeoutSec * 1000 : 10_000),
    ssl: ssl ?? plainFirst(params),
    keepAlive: params.keepalives !== '0',
  };
  // node-postgres accepts undefined from the function (no password); its types do not say so.
  cfg.password = password ?? ((async () => {
    const r = pgpassFor(params, database);
    onPgpass?.(r);
    return r.password;
  }) as () => Promise<string>);
  if (params.options) cfg.options = params.options;
  if (opts.replication) (cfg as Record<string, unknown>).replication = opts.replication;
  return cfg;
}

const TLS_VERIFY_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function connectFailure(e: unknown, side: Side, label: string, db: string, params: ConnParams, pgpass?: PgpassResult): PgshiftError {
  const err = e as NodeJS.ErrnoException & { code?: string; message: string };
  const code = err.code ?? '';
  const what = `${side} (${label})`;
  if (code === '28000' && /no encryption|SSL off/i.test(err.message)) {
    return new ConnectionError('tls_required', `${what}: the server requires TLS and this connection did not use it (sslmode=${params.sslmode ?? 'prefer'}): ${err.message}`, {
      hint: `Set sslmode=verify-full (or verify-ca) and sslrootcert=<the server's CA file> in ${side}.conn; sslmode=require encrypts without checking the certificate.`,
    });
  }
  if (TLS_VERIFY_CODES.has(code)) {
    return new ConnectionError('tls_verify_failed', `${what}: the server's TLS certificate was not accepted (sslmode=${params.sslmode ?? 'prefer'}): ${err.message}`, {
      hint: code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `The host name in ${side}.conn is not one the certificate names: connect by a name it lists, or use sslmode=verify-ca (checks the CA only).`
        : `Set sslrootcert in ${side}.conn to the CA certificate that signed the server's certificate.`,
    });
  }
  if (/does not support SSL/i.test(err.message)) {
    return new ConnectionError('tls_unavailable', `${what}: the server does not accept TLS connections (sslmode=${params.sslmode ?? 'prefer'})`, {
      hint: `Turn on ssl on that server, or set sslmode=prefer in ${side}.conn if plain text is acceptable on this network.`,
    });
  }
  if (code === '28P01' || /password authentication failed/i.test(err.message)) {
    // As libpq does, say when the password came from the password file.
    const fromFile = pgpass?.password !== undefined ? ` (password retrieved from file "${pgpass.file}")` : '';
    return new ConnectionError('auth_failed', `${what}: password authentication failed${fromFile}`, {
      hint: fromFile
        ? `Fix the line for ${label} in ${pgpass!.file}, or set ${side}.password in the config.`
        : `Check ${side}.password in the config (or PGSHIFT_${side.toUpperCase()}_PASSWORD / PGPASSFILE) for this user.`,
    });
  }
  if (code === '28000') {
    return new ConnectionError('auth_rejected', `${what}: the server rejected the connection: ${err.message}`, {
      hint: 'Add a pg_hba.conf entry for this user and address on that server, then reload it.',
    });
  }
  if (code === '3D000') {
    return new ConnectionError('no_database', `${what}: database "${db}" does not exist`, {
      hint: 'Check the database name in the config.',
    });
  }
  if (/SASL|client password must be a string/i.test(err.message)) {
    const ignored = pgpass?.warning ? ` ${pgpass.warning[0]!.toUpperCase()}${pgpass.warning.slice(1)}, so it was ignored.` : '';
    return new ConnectionError('auth_failed', `${what}: the server asked for a password and none was given`, {
      hint: `Set ${side}.password in the config (e.g. password: \${PGSHIFT_${side.toUpperCase()}_PASSWORD}) or add a line for ${label} to ${pgpass?.file ?? 'the password file (PGPASSFILE, ~/.pgpass)'}.${ignored}`,
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH'].includes(code) ||
      /timeout|terminated unexpectedly/i.test(err.message)) {
    return new ConnectionError('unreachable', `${what}: cannot connect: ${code || err.message}`, {
      hint: 'Check host and port, that the server is running, and that listen_addresses and the firewall allow this machine.',
      cause: e,
    });
  }
  if (code === '53300') {
    return new ConnectionError('too_many_connections', `${what}: ${err.message}`, { hint: 'Free connections or raise max_connections.' });
  }
  const wrapped = wrapSqlError(e, undefined, side);
  if (wrapped instanceof Error && 'exitCode' in wrapped) return wrapped as PgshiftError;
  return new ConnectionError('connect_failed', `${what}: cannot connect: ${err.message}`, { cause: e });
}

export async function identify(client: pg.Client): Promise<{ systemIdentifier: string; version: ServerVersion }> {
  const r = await client.query<{ sysid: string; num: string; text: string }>(
    "SELECT system_identifier::text AS sysid, current_setting('server_version_num') AS num, current_setting('server_version') AS text FROM pg_control_system()",
  );
  const row = r.rows[0]!;
  return { systemIdentifier: row.sysid, version: versionFromNum(Number(row.num), row.text) };
}

/**
 * Open a connection to one side and verify it is the configured cluster.
 * Throws SafetyError (exit 3) on a system_identifier mismatch.
 */
export async function connect(side: Side, ep: EndpointConfig, opts: ConnectOptions = {}): Promise<Db> {
  const conn = resolvedParams(ep.conn, `${side}.conn`);
  // Errors name the server, port, user and database actually used.
  const label = describeConn({ ...conn, dbname: opts.database ?? conn.dbname ?? 'postgres' });
  const attempts = sslAttempts(conn);
  let cfg!: pg.ClientConfig;
  let client!: pg.Client;
  let pgpass: PgpassResult | undefined;
  for (let i = 0; i < attempts.length; i++) {
    cfg = clientConfig(conn, ep.password ?? conn.password, opts, attempts[i], (r) => (pgpass = r));
    client = new pg.Client(cfg);
    // A dropped connection emits 'error' on the client; without a listener node would crash.
    client.on('error', () => undefined);
    try {
      await client.connect();
      break;
    } catch (e) {
      await client.end().catch(() => undefined);
      if (i + 1 < attempts.length && shouldFallBack(e, attempts[i])) continue;
      throw connectFailure(e, side, label, String(cfg.database), conn, pgpass);
    }
  }
  if (opts.replication) {
    // A replication connection cannot run pg_control_system() before v10's SQL-in-walsender;
    // IDENTIFY_SYSTEM returns the same identifier on every supported version.
    const r = await client.query<{ systemid: string }>('IDENTIFY_SYSTEM');
    const found = r.rows[0]!.systemid;
    if (!opts.skipIdentityCheck && found !== ep.systemIdentifier) {
      await client.end().catch(() => undefined);
      throw wrongCluster(side, label, ep.systemIdentifier, found);
    }
    const v = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    return new Db(client, side, String(cfg.database), versionFromNum(Number(v.rows[0]!.server_version_num)), found, label);
  }
  let id: { systemIdentifier: string; version: ServerVersion };
  try {
    id = await identify(client);
  } catch (e) {
    await client.end().catch(() => undefined);
    throw wrapSqlError(e, undefined, side);
  }
  if (!opts.skipIdentityCheck && id.systemIdentifier !== ep.systemIdentifier) {
    await client.end().catch(() => undefined);
    throw wrongCluster(side, label, ep.systemIdentifier, id.systemIdentifier);
  }
  return new Db(client, side, String(cfg.database), id.version, id.systemIdentifier, label);
}

function wrongCluster(side: Side, label: string, expected: string, found: string): SafetyError {
  return new SafetyError('wrong_cluster', `${side} (${label}) is not the configured cluster: expected system_identifier ${expected}, found ${found}`, {
    hint: `pgshift refuses to act on another cluster. Point ${side}.conn at the right server, or if this really is the intended cluster, update ${side}.system_identifier (pgshift init prints it).`,
    details: { side, expected, found },
  });
}

/** Run fn with a verified connection, always closing it. */
export async function withDb<T>(side: Side, ep: EndpointConfig, opts: ConnectOptions, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await connect(side, ep, opts);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Run fn inside a transaction on db; rolls back on error. */
export async function withTransaction<T>(db: Db, fn: () => Promise<T>, begin = 'BEGIN'): Promise<T> {
  await db.query(begin);
  try {
    const r = await fn();
    await db.query('COMMIT');
    return r;
  } catch (e) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Where the bookkeeping lives on a side: its conn's dbname, never the migrated database itself. */
export function maintenanceDb(config: Config, side: Side, database: string): string {
  const d = (side === 'source' ? config.source : config.target).conn.dbname ?? 'postgres';
  return d === database ? 'postgres' : d;
}
