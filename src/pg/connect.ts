// Connections. Every connection pgshift opens to a configured cluster checks
// the cluster's system_identifier against the config before it is used, and
// refuses (exit 3) any other cluster. Errors never carry a password.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { EndpointConfig } from '../config/config.js';
import { describeConn, type ConnParams } from '../config/conninfo.js';
import { ConnectionError, SafetyError, wrapSqlError, type PgshiftError } from '../errors.js';
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

function sslOption(params: ConnParams): pg.ClientConfig['ssl'] {
  const mode = params.sslmode ?? 'prefer';
  // node-postgres has no "try TLS, fall back": prefer/allow connect in plain text,
  // like libpq does against a server without TLS. Ask for require or stronger to enforce it.
  if (mode === 'disable' || mode === 'allow' || mode === 'prefer') return false;
  const ca = params.sslrootcert ? readFileSync(params.sslrootcert, 'utf8') : undefined;
  const cert = params.sslcert ? readFileSync(params.sslcert, 'utf8') : undefined;
  const key = params.sslkey ? readFileSync(params.sslkey, 'utf8') : undefined;
  if (mode === 'require') {
    // libpq: require with a root cert present behaves like verify-ca.
    return ca ? { ca, cert, key, rejectUnauthorized: true, checkServerIdentity: () => undefined } : { cert, key, rejectUnauthorized: false };
  }
  if (mode === 'verify-ca') return { ca, cert, key, rejectUnauthorized: true, checkServerIdentity: () => undefined };
  if (mode === 'verify-full') return { ca, cert, key, rejectUnauthorized: true };
  throw new ConnectionError('bad_sslmode', `invalid sslmode "${mode}"`, { hint: 'Use one of disable, allow, prefer, require, verify-ca, verify-full.' });
}

/** node-postgres client options from libpq parameters. */
export function clientConfig(params: ConnParams, password: string | undefined, opts: ConnectOptions): pg.ClientConfig {
  const firstHost = (params.host ?? params.hostaddr ?? '').split(',')[0] || undefined;
  const firstPort = (params.port ?? '').split(',')[0] || undefined;
  const timeoutSec = params.connect_timeout ? Number(params.connect_timeout) : undefined;
  const cfg: pg.ClientConfig = {
    host: params.hostaddr ?? firstHost ?? process.env.PGHOST ?? 'localhost',
    port: firstPort ? Number(firstPort) : process.env.PGPORT ? Number(process.env.PGPORT) : 5432,
    user: params.user ?? process.env.PGUSER ?? 'postgres',
    database: opts.database ?? params.dbname ?? 'postgres',
    application_name: opts.applicationName ?? APPLICATION_NAME,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? (timeoutSec ? timeoutSec * 1000 : 10_000),
    ssl: sslOption(params),
    keepAlive: true,
  };
  if (password !== undefined) cfg.password = password;
  if (params.options) cfg.options = params.options;
  if (opts.replication) (cfg as Record<string, unknown>).replication = opts.replication;
  return cfg;
}

function connectFailure(e: unknown, side: Side, label: string, db: string): PgshiftError {
  const err = e as NodeJS.ErrnoException & { code?: string; message: string };
  const code = err.code ?? '';
  const what = `${side} (${label})`;
  if (code === '28P01' || /password authentication failed/i.test(err.message)) {
    return new ConnectionError('auth_failed', `${what}: password authentication failed`, {
      hint: `Check ${side}.password in the config (or PGSHIFT_${side.toUpperCase()}_PASSWORD / PGPASSFILE) for this user.`,
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
    return new ConnectionError('auth_failed', `${what}: the server asked for a password and none was given`, {
      hint: `Set ${side}.password in the config (e.g. password: \${PGSHIFT_${side.toUpperCase()}_PASSWORD}) or use a PGPASSFILE entry.`,
    });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN', 'ENETUNREACH'].includes(code) ||
      /timeout|terminated unexpectedly/i.test(err.message)) {
    return new ConnectionError('unreachable', `${what}: cannot connect: ${code || err.message}`, {
      hint: 'Check host and port, that the server is running, and that listen_addresses and the firewall allow this machine.',
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
  const cfg = clientConfig(ep.conn, ep.password ?? ep.conn.password, opts);
  const label = describeConn(ep.conn);
  const client = new pg.Client(cfg);
  // A dropped connection emits 'error' on the client; without a listener node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw connectFailure(e, side, label, String(cfg.database));
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
