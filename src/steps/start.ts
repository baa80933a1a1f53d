// Step "start": forward logical replication for one database.
//
// What it does, in order:
//   1. on the source, gives every replicated table a replica identity
//      (the plan from replica-identity.ts: USING INDEX or FULL for tables
//      without a primary key) and mirrors it on the target, whose apply
//      worker must be able to find the rows it updates and deletes;
//   2. on the source, creates the publication pgshift_<db> for the
//      replicated tables (config `exclude` left out, extension-owned and
//      unlogged tables left out, tables replication cannot carry left out),
//      via the partition root on 13+ and as leaf partitions on 12;
//   3. on the target, creates the subscription pgshift_<db> with slot
//      pgshift_<db>, copy_data = true and the options the versions support.
// Needs: the database and its schema on the target ("pgshift schema DB").
// Idempotent by looking at the clusters: an existing publication is made to
// list exactly the wanted tables (ALTER PUBLICATION ... SET TABLE); an
// existing subscription is left alone (it is mid-copy or streaming; a
// re-created one would copy again), refreshed only when the publication
// gained tables; a slot of our name with no subscription is what a CREATE
// SUBSCRIPTION that died half-way leaves behind, and is dropped and made again.
// Undo: "pgshift cleanup DB" drops subscription, slot and publication.

import { databaseConfig, type Config, type DatabaseConfig } from '../config/config.js';
import { ProblemError, SafetyError, UsageError, AbortedError, PgshiftError, SqlError } from '../errors.js';
import { redactConninfo } from '../config/conninfo.js';
import type { Emit } from '../events.js';
import { silent } from '../events.js';
import { connect, type Db } from '../pg/connect.js';
import { listTables, matchesPattern, replicatedTables, tableKey, tableNames, type TableInfo } from '../pg/catalog.js';
import { qualify, quoteIdent, quoteIdentList, quoteLiteral } from '../pg/quote.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import { runSecretStatement } from '../pg/secret-statement.js';
import { featuresOf, type ServerVersion } from '../pg/version.js';
import { sleep } from '../util/wait.js';
import { faultPoint } from '../util/fault.js';
import { namesFor } from './names.js';
import { refuseMissingPrivileges, refuseTablesMissingOnTarget, refuseTargetRows, refuseUnsupportedVersions } from './preflight.js';
import { applyReplicaIdentity, leafTables, planReplicaIdentities, type ReplicaIdentityPlan } from './replica-identity.js';
import { IdentityChanges, refuseUnrecordable } from './identity-record.js';
import { findPublication, findSlot, findSubscription, subscriptionConninfo, type PublicationInfo, type SubscriptionConninfo } from './subscription.js';

export type CopyMode = 'native' | 'fast';

export interface StartOptions {
  copy?: CopyMode;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface NotCarriedTable {
  schema: string;
  name: string;
  reason: string;
}

export interface StartResult {
  database: string;
  publication: { name: string; action: 'created' | 'updated' | 'unchanged'; tables: number };
  subscription: { name: string; action: 'created' | 'refreshed' | 'unchanged'; options: string[] };
  slot: { name: string; droppedOrphan: boolean };
  replicaIdentity: { table: string; action: ReplicaIdentityPlan['action']; reason: string }[];
  notCarried: NotCarriedTable[];
}

/** What the publication should hold, and why some tables are not in it. */
export interface PublicationPlan {
  viaRoot: boolean;
  tables: TableInfo[];
  identities: ReplicaIdentityPlan[];
  notCarried: NotCarriedTable[];
}

function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}

/**
 * Plan the publication (read-only). A partitioned table published through its
 * root (13+) without a primary key needs REPLICA IDENTITY FULL on the root and
 * on every leaf: the root's identity decides the format of the old row that
 * pgoutput sends, the leaf's decides which columns of it were logged. A root
 * with any leaf that cannot be replicated is left out as a whole, because a
 * publication through the root cannot leave out one partition.
 */
export async function planPublication(source: Db, dbConfig: DatabaseConfig): Promise<PublicationPlan> {
  const viaRoot = featuresOf(source.version).publishViaPartitionRoot;
  const all = await listTables(source);
  const candidates = replicatedTables(all, dbConfig.exclude, viaRoot);
  const notCarried: NotCarriedTable[] = [];
  const excluded = (t: TableInfo): boolean => dbConfig.exclude.some((p) => matchesPattern(t, p));
  for (const t of all) {
    if (t.persistence === 'u' && !t.extension && !excluded(t)) {
      notCarried.push({ schema: t.schema, name: t.name, reason: 'unlogged table: its changes are not written to WAL, so logical replication cannot carry them' });
    }
  }
  const leafPlans = await planReplicaIdentities(source, candidates);
  const byOid = new Map(candidates.map((t) => [t.oid, t]));
  const rootOf = new Map<number, number>();
  if (leafPlans.length > 0) {
    const rows = await source.query<{ oid: string; root: string }>(sqlFor('start-partition-roots', source.version), [leafPlans.map((p) => p.table.oid)]);
    for (const r of rows) rootOf.set(Number(r.oid), Number(r.root));
  }
  const droppedRoots = new Set<number>();
  const identities: ReplicaIdentityPlan[] = [];
  for (const plan of leafPlans) {
    const rootOid = rootOf.get(plan.table.oid) ?? plan.table.oid;
    const root = byOid.get(rootOid);
    if (plan.action === 'cannot') {
      if (root && root.oid !== plan.table.oid) {
        droppedRoots.add(root.oid);
        notCarried.push({ schema: root.schema, name: root.name, reason: `partition ${tableKey(plan.table)}: ${plan.reason}` });
      } else {
        notCarried.push({ schema: plan.table.schema, name: plan.table.name, reason: plan.reason });
      }
      continue;
    }
    const alreadyFull = plan.action === 'full' || (plan.action === 'keep' && plan.table.replident === 'f');
    if (root && root.relkind === 'p' && !root.hasPk && !alreadyFull) {
      identities.push({ ...plan, action: 'full', index: undefined, reason: `partition of ${tableKey(root)}, which has no primary key: REPLICA IDENTITY FULL` });
    } else {
      identities.push(plan);
    }
  }
  for (const t of candidates) {
    if (t.relkind === 'p' && !t.hasPk && !droppedRoots.has(t.oid) && t.replident !== 'f') {
      identities.push({ table: t, action: 'full', reason: 'partitioned table without a primary key, published through its root: REPLICA IDENTITY FULL' });
    }
  }
  const cannot = new Set(notCarried.map((n) => tableKey(n)));
  const tables = candidates.filter((t) => !droppedRoots.has(t.oid) && !cannot.has(tableKey(t)));
  return { viaRoot, tables, identities, notCarried };
}

/** Does the plan change any identity (so the record in the maintenance database is needed)? */
export function planChangesIdentities(plan: PublicationPlan): boolean {
  return plan.identities.some((p) => p.action === 'use-index' || p.action === 'full');
}

/** Set the planned replica identities on the source (each recorded first), and say which tables are not carried. */
export async function applyIdentityPlan(changes: IdentityChanges, plan: PublicationPlan, emit: Emit): Promise<void> {
  for (const p of plan.identities) {
    if (p.action === 'use-index' || p.action === 'full') {
      await applyReplicaIdentity(changes, p);
      emit({ type: 'info', message: `replica identity ${p.action === 'full' ? 'FULL' : `USING INDEX ${p.index}`} on ${tableKey(p.table)}: ${p.reason}` });
    }
  }
  for (const n of plan.notCarried) {
    emit({ type: 'warn', message: `${n.schema}.${n.name} is not replicated (${n.reason}); switchover copies it while writes are paused` });
  }
}

/**
 * Tables in this database that logical replication will not carry, computed
 * again from the source's catalogs (no journal needed): unlogged tables and
 * tables with no usable replica identity. Switchover copies them while writes
 * are paused.
 */
export async function tablesReplicationCannotCarry(config: Config, database: string): Promise<NotCarriedTable[]> {
  const dbConfig = databaseConfig(config, database);
  const source = await connect('source', config.source, { database });
  try {
    return (await planPublication(source, dbConfig)).notCarried;
  } finally {
    await source.close();
  }
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
 * Column types of the published tables without binary send/receive, when
 * they matter: a binary subscription (same major, 14+) on a 16+ target
 * copies the tables in binary, and fails on those.
 */
export async function textOnlyTypes(source: Db, target: Db, tables: TableInfo[]): Promise<{ type: string; used_by: string }[]> {
  if (source.version.major !== target.version.major || !featuresOf(target.version).binaryInitialSync || tables.length === 0) return [];
  return source.query<{ type: string; used_by: string }>(sqlFile('start-text-only-types'), [tables.map((t) => t.oid)]);
}

/** Give the target the source's replica identities (the apply worker finds rows by them); each change recorded first. */
export async function mirrorIdentityOnTarget(source: Db, target: Db, tables: TableInfo[], emit: Emit, changes: IdentityChanges): Promise<void> {
  // Read the source's identities as they are now (after this run's ALTERs, or a previous run's).
  const now = new Map((await listTables(source)).map((t) => [t.oid, t]));
  const onTarget = new Map((await listTables(target)).map((t) => [tableKey(t), t]));
  const leaves = await leafTables(source, tables);
  const check = [...new Map([...leaves, ...tables].map((t) => [t.oid, t])).values()];
  for (const t0 of check) {
    const t = now.get(t0.oid);
    if (!t || (t.replident !== 'f' && t.replident !== 'i')) continue;
    const row = onTarget.get(tableKey(t));
    if (!row) continue;
    if (t.replident === 'f' && row.replident !== 'f') {
      await changes.set(t, { kind: 'full' });
    } else if (t.replident === 'i' && t.replidentIndex && row.replidentIndex !== t.replidentIndex) {
      try {
        await changes.set(t, { kind: 'index', index: t.replidentIndex });
      } catch (e) {
        if (row.hasPk) continue;
        emit({ type: 'warn', message: `target table ${tableKey(t)}: cannot use index ${t.replidentIndex} as replica identity (${(e as Error).message}); using FULL` });
        await changes.set(t, { kind: 'full' });
      }
    }
  }
}

/**
 * A publication's FOR TABLE / SET TABLE list: ONLY before every table.
 * Without it PostgreSQL adds each table's inheritance children as well,
 * including children pgshift left out (no usable replica identity), and from
 * then on every UPDATE and DELETE touching them fails on the publisher ("does
 * not have a replica identity and publishes updates"). Partitions are not
 * affected: a partitioned table publishes its partitions whatever ONLY says
 * (13+), and on 12 the leaves are listed themselves.
 */
export function publicationTablesSql(tables: { schema: string; name: string; columns?: string[] | null }[]): string {
  // A column list (15+ publishers) publishes only those columns: the reverse publication's way
  // of leaving out columns a drifted target has and the source lacks (src/switchover/reverse.ts).
  return tables.map((t) => `ONLY ${qualify(t.schema, t.name)}${t.columns ? ` (${quoteIdentList(t.columns)})` : ''}`).join(', ');
}

/** Create the publication, or make an existing one hold exactly the planned tables. */
export async function syncPublication(source: Db, name: string, plan: PublicationPlan, emit: Emit): Promise<'created' | 'updated' | 'unchanged'> {
  const existing: PublicationInfo | undefined = await findPublication(source, name);
  const listSql = publicationTablesSql(plan.tables);
  const withSql = plan.viaRoot ? ' WITH (publish_via_partition_root = true)' : '';
  if (!existing) {
    const forSql = plan.tables.length > 0 ? ` FOR TABLE ${listSql}` : '';
    await source.query(`CREATE PUBLICATION ${quoteIdent(name)}${forSql}${withSql}`);
    return 'created';
  }
  if (existing.allTables) {
    throw new SafetyError('publication_all_tables', `publication ${name} on the source is FOR ALL TABLES; pgshift did not create it`, {
      hint: `Drop or rename that publication (DROP PUBLICATION ${quoteIdent(name)}), then run start again.`,
    });
  }
  let changed = false;
  const want = plan.tables.map((t) => t.oid).sort((a, b) => a - b);
  const have = [...existing.tableOids].sort((a, b) => a - b);
  if (want.join(',') !== have.join(',')) {
    if (plan.tables.length > 0) {
      await source.query(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${listSql}`);
    } else {
      const names = await source.query<{ schema: string; name: string }>(
        'SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])',
        [existing.tableOids]);
      await source.query(`ALTER PUBLICATION ${quoteIdent(name)} DROP TABLE ${publicationTablesSql(names)}`);
    }
    emit({ type: 'info', message: `publication ${name}: table list updated (${have.length} -> ${want.length} tables)` });
    changed = true;
  }
  if (plan.viaRoot && !existing.viaRoot) {
    await source.query(`ALTER PUBLICATION ${quoteIdent(name)} SET (publish_via_partition_root = true)`);
    changed = true;
  }
  return changed ? 'updated' : 'unchanged';
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
  emit({ type: 'warn', message: `the subscription's connection string holds the source password: PostgreSQL stores it in pg_subscription on the target (readable by superusers only). To keep it out, put a pgpass file on the target server and name it in source.conn_from_target (passfile=/path/readable/by/the/server).` });
}

/** Wait a little for a slot's walsender to go away (a killed subscriber's connection ends on its own). */
export async function waitInactive(source: Db, slot: string, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const s = await findSlot(source, slot);
    if (!s || !s.active) return true;
    checkAborted(signal);
    await sleep(250, signal);
  }
  return false;
}

async function connectTarget(config: Config, database: string): Promise<Db> {
  try {
    return await connect('target', config.target, { database });
  } catch (e) {
    if (e instanceof PgshiftError && e.code === 'no_database') {
      throw new ProblemError('no_target_database', `database "${database}" does not exist on the target`, {
        hint: `Run "pgshift schema ${database}" first (or "pgshift run ${database}").`,
      });
    }
    throw e;
  }
}

/** Are publication and subscription both in place? Read-only; used by `run` to skip steps. */
export async function replicationStarted(config: Config, database: string): Promise<boolean> {
  let target: Db;
  try {
    target = await connectTarget(config, database);
  } catch (e) {
    if (e instanceof ProblemError && e.code === 'no_target_database') return false;
    throw e;
  }
  try {
    return (await findSubscription(target, namesFor(database).subscription)) !== undefined;
  } finally {
    await target.close();
  }
}

export async function startReplication(config: Config, database: string, opts: StartOptions = {}): Promise<StartResult> {
  const emit = opts.emit ?? silent;
  if (opts.copy === 'fast') {
    throw new UsageError('startReplication does the native copy; the fast copy is startFastCopy (src/steps/fast-copy.ts)', { hint: 'Run "pgshift start DB --copy fast".' });
  }
  const dbConfig = databaseConfig(config, database);
  const names = namesFor(database);
  const source = await connect('source', config.source, { database });
  let target: Db | undefined;
  try {
    target = await connectTarget(config, database);
    checkAborted(opts.signal);

    const plan = await planPublication(source, dbConfig);
    // Refusals before any change; a subscription that exists is a start already under way.
    refuseUnsupportedVersions(source.version, target.version);
    // Only start makes it, so it is still the same when the subscription step below looks.
    const sub = await findSubscription(target, names.subscription);
    const onTarget = await tableNames(target);
    if (!sub) {
      await refuseMissingPrivileges(source, target, plan.tables, !(await findPublication(source, names.publication)));
      try {
        await refuseTargetRows(target, plan.tables, onTarget);
      } catch (e) {
        // Rows beside our slot and no subscription: most likely a fast copy that
        // was killed; only the fast copy knows those rows are its own.
        if (!(e instanceof SafetyError && e.code === 'target_has_rows' && (await findSlot(source, names.slot)))) throw e;
        throw new SafetyError(e.code, `${e.message}; slot ${names.slot} exists on the source without a subscription: an interrupted "start --copy fast" (or "run --copy fast") left them`, {
          // sql-lint: safe (a hint for the user, not SQL pgshift runs)
          hint: `Run "pgshift start ${database} --copy fast" (or "pgshift run ${database} --copy fast") again: it empties those tables and copies again. To use the native copy instead, empty them on the target (TRUNCATE) first. Nothing was changed.`,
          details: e.details,
        });
      }
    }
    await refuseTablesMissingOnTarget(plan.tables, onTarget, database);
    if (planChangesIdentities(plan)) {
      for (const side of ['source', 'target'] as const) await refuseUnrecordable(config, side, database);
    }
    const sourceChanges = new IdentityChanges(config, 'source', source);
    const targetChanges = new IdentityChanges(config, 'target', target);
    try {
      await applyIdentityPlan(sourceChanges, plan, emit);
      await mirrorIdentityOnTarget(source, target, plan.tables, emit, targetChanges);
    } finally {
      await Promise.all([sourceChanges.close(), targetChanges.close()]);
    }
    faultPoint('after:start-identity');
    checkAborted(opts.signal);

    const pubAction = await syncPublication(source, names.publication, plan, emit);
    faultPoint('after:start-publication');
    emit({ type: 'info', message: `publication ${names.publication} on the source: ${pubAction} (${plan.tables.length} tables${plan.viaRoot ? ', partitioned tables through their root' : ''})` });
    checkAborted(opts.signal);

    const conn = subscriptionConninfo(config, database);
    let subAction: StartResult['subscription']['action'] = 'unchanged';
    let droppedOrphan = false;
    let options: string[] = [];
    if (sub) {
      if (!sub.publications.includes(names.publication)) {
        throw new SafetyError('subscription_mismatch', `subscription ${names.subscription} on the target exists but subscribes to ${sub.publications.join(', ')}, not ${names.publication}`, {
          // sql-lint: safe (a hint for the user, not SQL pgshift runs)
          hint: `pgshift did not create it this way. Drop it (DROP SUBSCRIPTION ${quoteIdent(names.subscription)}) or run "pgshift cleanup ${database}", then start again.`,
        });
      }
      const published = await source.query<{ schema: string; name: string }>(sqlFile('start-published-tables'), [names.publication]);
      // The tables the subscription knows (pg_subscription_rel), as status lists them.
      const subscribed = new Set((await target.query<{ schema: string; name: string }>(sqlFile('status-target-tables'), [names.subscription])).map(tableKey));
      const missing = published.filter((t) => !subscribed.has(tableKey(t)));
      if (missing.length > 0) {
        if (!sub.enabled) {
          emit({ type: 'warn', message: `subscription ${names.subscription} is disabled, so it cannot pick up ${missing.length} newly published table(s); enable it and run start again` });
        } else {
          // New tables are copied; tables already subscribed keep their state.
          await target.query(`ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} REFRESH PUBLICATION WITH (copy_data = true)`);
          subAction = 'refreshed';
          emit({ type: 'info', message: `subscription ${names.subscription}: refreshed, ${missing.length} new table(s) will be copied` });
        }
      }
      if (!sub.enabled) {
        emit({ type: 'warn', message: `subscription ${names.subscription} exists but is disabled (an apply error stops it); see "pgshift status ${database}"` });
      }
    } else {
      const slot = await findSlot(source, names.slot);
      if (slot) {
        if (slot.slotType !== 'logical' || slot.database !== database || slot.plugin !== 'pgoutput') {
          throw new SafetyError('slot_conflict', `a replication slot named ${names.slot} exists on the source but is not a pgoutput slot for database "${database}"`, {
            hint: 'Something other than pgshift made it. Drop or rename it, then run start again.',
          });
        }
        // The subscription is gone, so this slot is a CREATE SUBSCRIPTION that died
        // half-way (or a dropped subscription's leftover): nothing consumes it.
        if (!(await waitInactive(source, names.slot, opts.signal))) {
          throw new SafetyError('slot_in_use', `replication slot ${names.slot} on the source is in use (pid ${slot.activePid}) but no subscription ${names.subscription} exists on the target`, {
            hint: 'Another subscriber is using this slot. Stop it, or drop the slot, then run start again.',
          });
        }
        await source.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [names.slot]);
        droppedOrphan = true;
        emit({ type: 'warn', message: `dropped replication slot ${names.slot} left on the source by an interrupted start` });
      }
      warnStoredPassword(conn, emit);
      const textOnly = await textOnlyTypes(source, target, plan.tables);
      if (textOnly.length) {
        emit({ type: 'info', message: `binary transfer left off: ${textOnly.map((t) => `${t.type} (${t.used_by})`).join(', ')} ${textOnly.length === 1 ? 'has' : 'have'} no binary send/receive, and PostgreSQL ${target.version.major} would copy the tables in binary` });
      }
      options = subscriptionOptions(source.version, target.version, names.slot, true, textOnly.length === 0);
      checkAborted(opts.signal);
      emit({ type: 'info', message: `creating subscription ${names.subscription} on the target (initial copy: native copy_data)` });
      await createSubscription(target, names.subscription, conn, names.publication, options, emit);
      faultPoint('after:start-subscription');
      subAction = 'created';
    }
    return {
      database,
      publication: { name: names.publication, action: pubAction, tables: plan.tables.length },
      subscription: { name: names.subscription, action: subAction, options },
      slot: { name: names.slot, droppedOrphan },
      replicaIdentity: plan.identities.map((p) => ({ table: tableKey(p.table), action: p.action, reason: p.reason })),
      notCarried: plan.notCarried,
    };
  } finally {
    await target?.close();
    await source.close();
  }
}
