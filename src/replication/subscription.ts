// Subscriptions, for both directions: the CONNECTION string one server uses
// to reach the other, the options for a pair of versions, CREATE SUBSCRIPTION
// (as a secret statement: its conninfo may hold a password), and lookups of
// what pgshift already created (publication, subscription, slot), so every
// step finds existing objects by their deterministic names instead of making
// duplicates.

import type { Config, EndpointConfig } from '../config/config.js';
import { formatConninfo, pgpassFor, redactConninfo, type ConnParams } from '../config/conninfo.js';
import { SqlError } from '../errors.js';
import { silent, warning, type Emit } from '../events.js';
import type { Db } from '../pg/connect.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { runSecretStatement } from '../pg/secret-statement.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf, type ServerVersion } from '../pg/version.js';

export interface SubscriptionConninfo {
  /** The libpq string, password included when there is one. Never print it. */
  conninfo: string;
  /** The password in it, if any (to keep out of logs and errors). Never print it. */
  password?: string;
  /** SQL literal for CREATE SUBSCRIPTION ... CONNECTION. */
  literal: string;
  hasPassword: boolean;
  /** The parameters without the password, for messages. */
  shown: ConnParams;
}

/** TLS settings a peer connection inherits from the endpoint's own conn when it sets no sslmode. */
const TLS_KEYS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl'] as const;

/**
 * The libpq string one server uses to reach the other (a subscription's
 * CONNECTION): `conn_from_target` / `conn_from_source` when set (the
 * subscriber may see the publisher under another name), else the endpoint's
 * conn; dbname is the migrated database. The endpoint's TLS settings carry
 * over when the peer string names no sslmode: TLS is the publisher's policy,
 * and a conn_from_* written for another address must not silently fall back
 * to an unverified connection. The configured password is added only when
 * the connection uses the same user as the endpoint's conn (it is that
 * user's password) and no passfile is named (the subscriber brings its own).
 */
export function peerConninfo(endpoint: EndpointConfig, database: string): SubscriptionConninfo {
  const peer = endpoint.connFromPeer;
  const params: ConnParams = { ...(peer ?? endpoint.conn) };
  params.dbname = database;
  if (peer && peer.sslmode === undefined) {
    for (const k of TLS_KEYS) if (params[k] === undefined && endpoint.conn[k] !== undefined) params[k] = endpoint.conn[k];
  }
  const sameUser = !peer || peer.user === undefined || peer.user === endpoint.conn.user;
  if (params.password === undefined && peer?.passfile === undefined && sameUser && endpoint.password !== undefined) {
    params.password = endpoint.password;
  }
  const shown = { ...params };
  delete shown.password;
  const conninfo = formatConninfo(params);
  return { conninfo, literal: quoteLiteral(conninfo), password: params.password, hasPassword: params.password !== undefined, shown };
}

/**
 * How the target server reaches the source (the forward subscription). The
 * source's conn is already resolved (service, PG* environment, defaults), so
 * the server gets what pgshift itself connects with; a password pgshift finds
 * in its password file for this database counts as configured (the server
 * cannot read pgshift's file).
 */
export function subscriptionConninfo(config: Config, database: string): SubscriptionConninfo {
  const source = config.source;
  if (source.password !== undefined) return peerConninfo(source, database);
  const fromFile = pgpassFor(source.conn, database).password;
  return peerConninfo(fromFile === undefined ? source : { ...source, password: fromFile }, database);
}

export interface PublicationInfo {
  name: string;
  allTables: boolean;
  viaRoot: boolean;
  /** OIDs of the tables listed in the publication (pg_publication_rel). */
  tableOids: number[];
}

export async function findPublication(source: Db, name: string): Promise<PublicationInfo | undefined> {
  const viaRootSql = featuresOf(source.version).publishViaPartitionRoot ? 'p.pubviaroot' : 'false';
  const row = await source.maybeOne<{ pubname: string; puballtables: boolean; viaroot: boolean; oids: string[] }>(
    `SELECT p.pubname, p.puballtables, ${viaRootSql} AS viaroot,
            ARRAY(SELECT r.prrelid::int8 FROM pg_catalog.pg_publication_rel r WHERE r.prpubid = p.oid ORDER BY 1) AS oids
       FROM pg_catalog.pg_publication p WHERE p.pubname = $1`,
    [name],
  );
  if (!row) return undefined;
  return { name: row.pubname, allTables: row.puballtables, viaRoot: row.viaroot, tableOids: row.oids.map(Number) };
}

export interface SubscriptionInfo {
  oid: number;
  name: string;
  enabled: boolean;
  slotName: string | null;
  publications: string[];
  database: string;
}

/** The subscription of this name in the target's current database. */
export async function findSubscription(target: Db, name: string): Promise<SubscriptionInfo | undefined> {
  const row = await target.maybeOne<{ oid: string; subname: string; subenabled: boolean; subslotname: string | null; subpublications: string[]; datname: string }>(
    sqlFile('start-find-subscription'),
    [name],
  );
  if (!row) return undefined;
  return {
    oid: Number(row.oid),
    name: row.subname,
    enabled: row.subenabled,
    slotName: row.subslotname,
    publications: row.subpublications,
    database: row.datname,
  };
}

export interface SlotInfo {
  name: string;
  plugin: string | null;
  slotType: string;
  database: string | null;
  active: boolean;
  activePid: number | null;
  restartLsn: string | null;
  confirmedFlushLsn: string | null;
  /** 13+: reserved | extended | unreserved | lost */
  walStatus: string | null;
}

export async function findSlot(source: Db, name: string): Promise<SlotInfo | undefined> {
  const walStatusSql = featuresOf(source.version).slotWalStatus ? 'wal_status' : 'NULL::text';
  const row = await source.maybeOne<{
    slot_name: string; plugin: string | null; slot_type: string; database: string | null; active: boolean;
    active_pid: number | null; restart_lsn: string | null; confirmed_flush_lsn: string | null; wal_status: string | null;
  }>(
    `SELECT slot_name, plugin, slot_type, database, active, active_pid, restart_lsn::text, confirmed_flush_lsn::text,
            ${walStatusSql} AS wal_status
       FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [name],
  );
  if (!row) return undefined;
  return {
    name: row.slot_name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: row.active,
    activePid: row.active_pid,
    restartLsn: row.restart_lsn,
    confirmedFlushLsn: row.confirmed_flush_lsn,
    walStatus: row.wal_status,
  };
}
/**
 * Subscription options for this pair of versions, as `key = value` SQL
 * fragments. nativeCopy: the subscription makes its slot and copies the
 * tables (start); false when fast copy made the slot and copied them.
 */
export function subscriptionOptions(source: ServerVersion, target: ServerVersion, slot: string, nativeCopy = true, binaryOk = true): string[] {
  const src = featuresOf(source);
  const tgt = featuresOf(target);
  const opts = [`slot_name = ${quoteLiteral(slot)}`, `create_slot = ${nativeCopy}`, `copy_data = ${nativeCopy}`, 'enabled = true'];
  // Stream large in-progress transactions instead of spilling them to disk on
  // the source; the publisher must speak protocol version 2 (14+) as well.
  if (tgt.subscriptionStreaming && src.subscriptionStreaming) opts.push('streaming = on');
  // No disable_on_error: PostgreSQL disables on ANY apply worker error,
  // including a lost connection (a source restart, a network cut past
  // wal_receiver_timeout), and replication would then stay stopped until
  // someone re-enabled it. Transport errors heal by themselves; a data
  // conflict repeats, and `wait` disables the subscription when it sees one
  // (wait.ts), so it neither loops unnoticed nor dies on a network blip.
  // Binary transfer only within one major version: across versions (and with
  // a drifted target schema, e.g. int -> bigint) binary input can reject what
  // text input accepts.
  // binaryOk: false when a column type has no binary I/O and the copy would be binary (textOnlyTypes).
  if (binaryOk && tgt.subscriptionBinary && src.subscriptionBinary && source.major === target.major) opts.push('binary = true');
  return opts;
}

/**
 * CREATE SUBSCRIPTION on the subscribing side (the target; the source for
 * reverse replication). Its CONNECTION string may hold the publisher's
 * password, so it runs as a secret statement: kept out of the subscriber's
 * server log and pg_stat_activity where the role may arrange that (a warning
 * where it may not), and out of pgshift's errors.
 */
export async function createSubscription(subscriber: Db, name: string, conn: SubscriptionConninfo, publication: string, options: string[], emit: Emit = silent): Promise<void> {
  const side = subscriber.side;
  const publisher = side === 'target' ? 'source' : 'target';
  try {
    await runSecretStatement(subscriber,
      `CREATE SUBSCRIPTION ${quoteIdent(name)} CONNECTION ${quoteLiteral(conn.conninfo)} PUBLICATION ${quoteIdent(publication)} WITH (${options.join(', ')})`, // sql-lint: safe (options are constant fragments and quoteLiteral output)
      conn.password === undefined ? [] : [conn.password],
      // sql-lint: safe (a label for a warning, not SQL)
      { what: `CREATE SUBSCRIPTION ${name}`, emit: conn.hasPassword ? emit : undefined });
  } catch (e) {
    if (e instanceof SqlError) {
      // sql-lint: safe (an error message, not SQL)
      throw new SqlError(`${side}: CREATE SUBSCRIPTION failed: ${e.message.replace(/^(source|target): /, '')}`, {
        sqlstate: e.sqlstate, detail: e.serverDetail, hint: e.serverHint, side,
      }, {
        hint: e.sqlstate === '08006' || /could not connect/i.test(e.message)
          ? `The ${side} server could not reach the ${publisher} with "${redactConninfo(conn.shown)}". Set ${publisher}.conn_from_${side} to how the ${side} server sees the ${publisher}.`
          : e.hint,
      });
    }
    throw e;
  }
}

/** Say so when the forward subscription's connection string will keep the source password in the target's catalog. */
export function warnStoredPassword(conn: SubscriptionConninfo, emit: Emit): void {
  if (!conn.hasPassword) return;
  emit(warning('password_in_subscription', 'the subscription\'s connection string holds the source password: PostgreSQL stores it in pg_subscription on the target (readable by superusers only)',
    'to keep it out, put a pgpass file on the target server and name it in source.conn_from_target (passfile=/path/readable/by/the/server)'));
}
export interface SubscriptionState {
  enabled: boolean;
  slot_name: string | null;
  worker_pid: number | null;
  tables: number;
  not_ready: string[];
}

export async function subscriptionState(db: Db, name: string): Promise<SubscriptionState | undefined> {
  return db.maybeOne<SubscriptionState & Record<string, unknown>>(sqlFile('switchover-subscription'), [name]);
}
