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

import { databaseConfig, type Config } from '../config/config.js';
import { ProblemError, SafetyError, UsageError, PgshiftError, throwIfAborted } from '../errors.js';
import type { Emit } from '../events.js';
import { silent, warning } from '../events.js';
import { connect, type Db } from '../pg/connect.js';
import { listTables, tableKey, tableNames, type TableInfo } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import type { DryRun } from '../pg/dry-run.js';
import { sleep } from '../util/wait.js';
import { faultPoint } from '../util/fault.js';
import { namesFor } from '../replication/names.js';
import { refuseMissingPrivileges, refuseTablesMissingOnTarget, refuseTargetRows, refuseUnsupportedVersions } from '../checks/preflight.js';
import { leafTables, type ReplicaIdentityPlan } from '../replication/replica-identity.js';
import { IdentityChanges, refuseUnrecordable } from '../replication/identity-record.js';
import { findPublication, findSlot, findSubscription, subscriptionConninfo, type SubscriptionConninfo, type SubscriptionInfo } from '../replication/subscription.js';
import { type NotCarriedTable, type PublicationPlan, applyIdentityPlan, planChangesIdentities, planPublication, syncPublication } from '../replication/publication.js';
import { createSubscription, subscriptionOptions, warnStoredPassword } from '../replication/subscription.js';

export type CopyMode = 'native' | 'fast';

export interface StartOptions {
  copy?: CopyMode;
  emit?: Emit;
  signal?: AbortSignal;
  /** Plan only (src/pg/dry-run.ts): every read and check runs, every change is recorded here instead of made. */
  dryRun?: DryRun;
}

export interface StartResult {
  database: string;
  publication: { name: string; action: 'created' | 'updated' | 'unchanged'; tables: number };
  subscription: { name: string; action: 'created' | 'refreshed' | 'unchanged'; options: string[] };
  slot: { name: string; droppedOrphan: boolean };
  replicaIdentity: { table: string; action: ReplicaIdentityPlan['action']; reason: string }[];
  notCarried: NotCarriedTable[];
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
 * Column types of the published tables without binary send/receive, when
 * they matter: a binary subscription (same major, 14+) on a 16+ target
 * copies the tables in binary, and fails on those.
 */
export async function textOnlyTypes(source: Db, target: Db, tables: TableInfo[]): Promise<{ type: string; used_by: string }[]> {
  if (source.version.major !== target.version.major || !featuresOf(target.version).binaryInitialSync || tables.length === 0) return [];
  return source.query<{ type: string; used_by: string }>(sqlFile('start-text-only-types'), [tables.map((t) => t.oid)]);
}

/** Give the target the source's replica identities (the apply worker finds rows by them); each change recorded first. */
export async function mirrorIdentityOnTarget(source: Db, target: Db, tables: TableInfo[], emit: Emit, changes: IdentityChanges, sourceChanges?: IdentityChanges): Promise<void> {
  // Read the source's identities as they are now (after this run's ALTERs, or a previous run's);
  // in a dry run those ALTERs were only recorded, so what they would have set counts.
  const now = new Map((await listTables(source)).map((t) => {
    const planned = sourceChanges?.planned.get(t.oid);
    return [t.oid, planned ? { ...t, replident: planned.replident, replidentIndex: planned.index } : t];
  }));
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
        emit(warning('replica_identity_index_unusable', `target table ${tableKey(t)}: cannot use index ${t.replidentIndex} as replica identity (${(e as Error).message}); using FULL`));
        await changes.set(t, { kind: 'full' });
      }
    }
  }
}

/** Wait a little for a slot's walsender to go away (a killed subscriber's connection ends on its own). */
export async function waitInactive(source: Db, slot: string, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const s = await findSlot(source, slot);
    if (!s || !s.active) return true;
    throwIfAborted(signal, 'start');
    await sleep(250, signal);
  }
  return false;
}

async function connectTarget(config: Config, database: string, dryRun?: DryRun): Promise<Db> {
  try {
    return await connect('target', config.target, { database, dryRun });
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
  const dryRun = opts.dryRun;
  const source = await connect('source', config.source, { database, dryRun });
  let target: Db | undefined;
  try {
    target = await connectTarget(config, database, dryRun);
    throwIfAborted(opts.signal, 'start');

    const plan = await planPublication(source, dbConfig);
    // Refusals before any change; a subscription that exists is a start already under way.
    refuseUnsupportedVersions(source.version, target.version);
    // Only start makes it, so it is still the same when the subscription step below looks.
    const sub = await findSubscription(target, names.subscription);
    const onTarget = await tableNames(target);
    if (!sub) await refuseNewStart(source, target, plan, onTarget, database);
    await refuseTablesMissingOnTarget(plan.tables, onTarget, database);
    if (planChangesIdentities(plan)) {
      for (const side of ['source', 'target'] as const) await refuseUnrecordable(config, side, database, dryRun);
    }
    await setIdentities(config, source, target, plan, emit, dryRun);
    faultPoint('after:start-identity');
    throwIfAborted(opts.signal, 'start');

    dryRun?.step(`publication ${names.publication} on the source`);
    const pubAction = await syncPublication(source, names.publication, plan, emit);
    faultPoint('after:start-publication');
    emit({ type: 'info', message: `publication ${names.publication} on the source: ${pubAction} (${plan.tables.length} tables${plan.viaRoot ? ', partitioned tables through their root' : ''})` });
    throwIfAborted(opts.signal, 'start');

    dryRun?.step(`subscription ${names.subscription} on the target`);
    const conn = subscriptionConninfo(config, database);
    let subAction: StartResult['subscription']['action'] = 'unchanged';
    let droppedOrphan = false;
    let options: string[] = [];
    if (sub) {
      subAction = await refreshSubscription(source, target, sub, database, emit);
    } else {
      ({ options, droppedOrphan } = await createForwardSubscription(source, target, plan, conn, database, emit, opts.signal));
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

/**
 * Refusals before a first start changes anything: privileges, and rows on the
 * target (beside our slot and no subscription: a killed fast copy's, which
 * only the fast copy may empty).
 */
async function refuseNewStart(source: Db, target: Db, plan: PublicationPlan, onTarget: Set<string>, database: string): Promise<void> {
  const names = namesFor(database);
  await refuseMissingPrivileges(source, target, plan.tables, !(await findPublication(source, names.publication)));
  try {
    await refuseTargetRows(target, plan.tables, onTarget);
  } catch (e) {
    if (!(e instanceof SafetyError && e.code === 'target_has_rows' && (await findSlot(source, names.slot)))) throw e;
    throw new SafetyError(e.code, `${e.message}; slot ${names.slot} exists on the source without a subscription: an interrupted "start --copy fast" (or "run --copy fast") left them`, {
      // sql-lint: safe (a hint for the user, not SQL pgshift runs)
      hint: `Run "pgshift start ${database} --copy fast" (or "pgshift run ${database} --copy fast") again: it empties those tables and copies again. To use the native copy instead, empty them on the target (TRUNCATE) first. Nothing was changed.`,
      details: e.details,
    });
  }
}

/** The planned replica identities on the source, and the source's on the target (each change recorded first, for cleanup). */
async function setIdentities(config: Config, source: Db, target: Db, plan: PublicationPlan, emit: Emit, dryRun?: DryRun): Promise<void> {
  const sourceChanges = new IdentityChanges(config, 'source', source);
  const targetChanges = new IdentityChanges(config, 'target', target);
  try {
    dryRun?.step('replica identities on the source (each recorded first, for cleanup to put back)');
    await applyIdentityPlan(sourceChanges, plan, emit);
    dryRun?.step('replica identities on the target (as the source has them, for the apply worker)');
    await mirrorIdentityOnTarget(source, target, plan.tables, emit, targetChanges, sourceChanges);
  } finally {
    await Promise.all([sourceChanges.close(), targetChanges.close()]);
  }
}

/** A subscription that exists: it must be ours; newly published tables are picked up (copied), the others keep their state. */
async function refreshSubscription(source: Db, target: Db, sub: SubscriptionInfo, database: string, emit: Emit): Promise<StartResult['subscription']['action']> {
  const names = namesFor(database);
  let subAction: StartResult['subscription']['action'] = 'unchanged';
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
      emit(warning('subscription_disabled_new_tables', `subscription ${names.subscription} is disabled, so it cannot pick up ${missing.length} newly published table(s)`, 'enable it and run start again'));
    } else {
      // New tables are copied; tables already subscribed keep their state.
      await target.change(`ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} REFRESH PUBLICATION WITH (copy_data = true)`);
      subAction = 'refreshed';
      emit({ type: 'info', message: `subscription ${names.subscription}: refreshed, ${missing.length} new table(s) will be copied` });
    }
  }
  if (!sub.enabled) {
    emit(warning('subscription_disabled', `subscription ${names.subscription} exists but is disabled (an apply error stops it)`, `see "pgshift status ${database}"`));
  }
  return subAction;
}

/**
 * The forward subscription, made with the native initial copy. A slot of its
 * name without a subscription is a CREATE SUBSCRIPTION that died half-way:
 * dropped first, once nothing uses it.
 */
async function createForwardSubscription(
  source: Db, target: Db, plan: PublicationPlan, conn: SubscriptionConninfo, database: string, emit: Emit, signal?: AbortSignal,
): Promise<{ options: string[]; droppedOrphan: boolean }> {
  const names = namesFor(database);
  let droppedOrphan = false;
  const slot = await findSlot(source, names.slot);
  if (slot) {
    if (slot.slotType !== 'logical' || slot.database !== database || slot.plugin !== 'pgoutput') {
      throw new SafetyError('slot_conflict', `a replication slot named ${names.slot} exists on the source but is not a pgoutput slot for database "${database}"`, {
        hint: 'Something other than pgshift made it. Drop or rename it, then run start again.',
      });
    }
    // The subscription is gone, so this slot is a CREATE SUBSCRIPTION that died
    // half-way (or a dropped subscription's leftover): nothing consumes it.
    if (!(await waitInactive(source, names.slot, signal))) {
      throw new SafetyError('slot_in_use', `replication slot ${names.slot} on the source is in use (pid ${slot.activePid}) but no subscription ${names.subscription} exists on the target`, {
        hint: 'Another subscriber is using this slot. Stop it, or drop the slot, then run start again.',
      });
    }
    await source.change('SELECT pg_catalog.pg_drop_replication_slot($1)', [names.slot], { note: 'left on the source by an interrupted start' });
    droppedOrphan = true;
    emit(warning('leftover_slot_dropped', `${source.dryRun ? 'would drop' : 'dropped'} replication slot ${names.slot} left on the source by an interrupted start`));
  }
  warnStoredPassword(conn, emit);
  const textOnly = await textOnlyTypes(source, target, plan.tables);
  if (textOnly.length) {
    emit({ type: 'info', message: `binary transfer left off: ${textOnly.map((t) => `${t.type} (${t.used_by})`).join(', ')} ${textOnly.length === 1 ? 'has' : 'have'} no binary send/receive, and PostgreSQL ${target.version.major} would copy the tables in binary` });
  }
  const options = subscriptionOptions(source.version, target.version, names.slot, true, textOnly.length === 0);
  throwIfAborted(signal, 'start');
  emit({ type: 'info', message: `creating subscription ${names.subscription} on the target (initial copy: native copy_data)` });
  await createSubscription(target, names.subscription, conn, names.publication, options, emit);
  faultPoint('after:start-subscription');
  return { options, droppedOrphan };
}
