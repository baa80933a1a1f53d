// Replication between the sides around a switchover:
//  - planReverse: what the reverse publication (on the target) carries. The
//    source must be able to take every column it publishes: a target
//    provisioned with the application's new schema (extra columns, `schema
//    --existing`) would otherwise stop the source's apply worker at the first
//    change ("target relation ... is missing replicated columns") while the
//    rollback path looked ready. Such a table is published with a column list
//    of the columns both sides have (publisher 15+); one whose replica
//    identity needs the extra columns (FULL, or an index using them) cannot
//    be narrowed without making its UPDATEs fail on the new primary, so the
//    rollback copies it instead. Where no column list is possible (a target
//    before 15, a partitioned table) the switchover refuses reverse
//    replication before it starts and says so (--no-reverse is the choice).
//  - prepareReverse (before the pause): the reverse publication on the target
//    and a disabled reverse subscription on the source with no slot. Creating
//    it proves the source can reach and log in to the target, and nothing it
//    does can carry a change yet.
//  - createSlotIfMissing (before the pause): the reverse slot on the target.
//    It sees everything the target commits from then on, including what the
//    forward subscription still applies until the fence: that must not travel
//    back, so the reverse direction starts at the commit point instead (below).
//  - at the commit point (inside the pause) the target's WAL position, read
//    once it has applied everything up to the fence, is recorded with the
//    fence record: everything the forward subscription applied committed
//    before it, every write of the new primary commits after it.
//  - stopSubscription (after the resume): disable the subscription that fed
//    the receiving side and wait until its apply worker is gone, so no change
//    can loop back once reverse replication runs. Until then it has nothing
//    to apply: the fenced side takes no writes.
//  - startAt + enableSubscription (after that): the reverse slot is advanced
//    to the commit point's position (it skips what committed before it and
//    keeps what came after), then the reverse subscription is enabled. The
//    writes the new primary took meanwhile wait in the slot.
//  - verifyReverse (after the resume): the rollback path is reported ready
//    only once proven: every column the reverse publication publishes exists
//    on the source, and the source confirmed a mark pgshift wrote on the
//    target after the resume (a logical message: no table, no row), which it
//    can only do after applying every change the new primary made before it.
//  - reverseStreamProblems: the same checks without waiting, for status.

import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import { peerConninfo } from '../replication/subscription.js';
import type { Db } from '../pg/connect.js';
import { listTables, tableKey, tableNames } from '../pg/catalog.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import type { Emit } from '../events.js';
import { featuresOf } from '../pg/version.js';
import { lsnGte } from '../pg/lsn.js';
import { sleep } from '../util/wait.js';
import { readColumns } from '../checks/schema-compat.js';
import { applyReplicaIdentity, type ReplicaIdentityPlan } from '../replication/replica-identity.js';
import { IdentityChanges } from '../replication/identity-record.js';
import { ProblemError } from '../errors.js';
import { CatchUpTimeout, markPosition, waitForConfirmed } from '../replication/catch-up.js';
import { describeLogError, lastReplicationError } from '../replication/apply-errors.js';
import { findSubscription, subscriptionConninfo } from '../replication/subscription.js';
import { databaseConfig } from '../config/config.js';
import type { MigrationNames } from '../replication/names.js';
import { type NotCarriedTable, planPublication, publicationTablesSql } from '../replication/publication.js';
import { createSubscription, subscriptionOptions } from '../replication/subscription.js';
import { subscriptionState } from '../replication/subscription.js';

export interface ReverseTable {
  schema: string;
  name: string;
  /** A column list (the columns both sides have), or null for every column. */
  columns: string[] | null;
}

export interface ReversePlan {
  tables: ReverseTable[];
  /** Target tables the reverse direction does not carry: a rollback copies them while writes are paused. */
  notCarried: NotCarriedTable[];
  /** Of those, the ones left out only because of columns the source lacks (the rest replication never carries). */
  narrowedOut: NotCarriedTable[];
  /** Target tables with columns the source lacks that no publication here can leave out: reverse replication would break on them. */
  cannotNarrow: { table: string; columns: string[]; reason: string }[];
  /** The planned identities on the target (tables a publication there needs a usable one for). */
  identities: ReplicaIdentityPlan[];
}

/** Columns that logical replication publishes and applies, per "schema.table": the non-generated ones. */
async function replicatedColumns(db: Db): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const c of await readColumns(db)) {
    if (c.generated) continue;
    const k = tableKey({ schema: c.schema, name: c.table });
    out.set(k, [...(out.get(k) ?? []), c.column]);
  }
  return out;
}

/** What the reverse publication carries, and what it cannot (see the file header). Read-only. */
export async function planReverse(config: Config, database: string, source: Db, target: Db): Promise<ReversePlan> {
  const plan = await planPublication(target, databaseConfig(config, database));
  const onSource = new Set((await listTables(source)).map(tableKey));
  const candidates = plan.tables.filter((t) => onSource.has(tableKey(t)));
  const [sourceCols, targetCols] = await Promise.all([replicatedColumns(source), replicatedColumns(target)]);
  const identity = new Map((await target.query<{ oid: string; replident: string; identity_columns: string[] }>(
    sqlFile('reverse-identity'), [candidates.map((t) => t.oid)])).map((r) => [Number(r.oid), r]));
  const identityChanges = new Set(plan.identities.filter((p) => p.action === 'full' || p.action === 'use-index').map((p) => p.table.oid));
  const out: ReversePlan = { tables: [], notCarried: [...plan.notCarried], narrowedOut: [], cannotNarrow: [], identities: plan.identities };
  for (const t of candidates) {
    const key = tableKey(t);
    const theirs = new Set(sourceCols.get(key) ?? []);
    const ours = targetCols.get(key) ?? [];
    const extra = ours.filter((c) => !theirs.has(c));
    if (extra.length === 0) {
      out.tables.push({ schema: t.schema, name: t.name, columns: null });
      continue;
    }
    const list = ours.filter((c) => theirs.has(c));
    if (!featuresOf(target.version).publicationColumnLists) {
      out.cannotNarrow.push({ table: key, columns: extra, reason: `the target is PostgreSQL ${target.version.major}, and a publication leaves out columns only from 15 on (column lists)` });
      continue;
    }
    if (t.relkind === 'p') {
      out.cannotNarrow.push({ table: key, columns: extra, reason: 'it is partitioned, and PostgreSQL takes a column list for a partitioned table only when it is published through its root' });
      continue;
    }
    const id = identity.get(t.oid);
    const needs = !id || identityChanges.has(t.oid) || id.replident === 'f' || id.replident === 'n' || id.identity_columns.some((c) => !list.includes(c));
    if (needs) {
      const left = {
        schema: t.schema, name: t.name,
        reason: `it has column(s) the source lacks (${extra.join(', ')}) and its replica identity on the target (${id?.replident === 'f' ? 'FULL' : 'its key'}) needs them, so reverse replication cannot leave them out; a rollback copies it while writes are paused`,
      };
      out.notCarried.push(left);
      out.narrowedOut.push(left);
      continue;
    }
    out.tables.push({ schema: t.schema, name: t.name, columns: list });
  }
  return out;
}

/** Refuse a switchover whose reverse replication could not carry some table (before anything changes). */
export function reverseRefusal(plan: ReversePlan): { message: string; hint: string } | undefined {
  if (plan.cannotNarrow.length === 0) return undefined;
  const shown = plan.cannotNarrow.slice(0, 5).map((c) => `${c.table} (${c.columns.join(', ')}: ${c.reason})`).join('; ');
  return {
    message: `reverse replication (target -> source, the rollback path) cannot carry ${plan.cannotNarrow.length} table(s) with columns the source lacks: ${shown}${plan.cannotNarrow.length > 5 ? '; ...' : ''}; the source would reject the first change to them and a rollback would lose the target's writes`,
    hint: 'Switch over without reverse replication (--no-reverse: no rollback possible afterwards), or make the source take those columns first (add them there, nullable or with a default), then retry. Nothing was changed.',
  };
}

export async function prepareReverse(config: Config, database: string, names: MigrationNames, source: Db, target: Db, emit?: Emit, planned?: ReversePlan): Promise<{ tables: number }> {
  const plan = planned ?? await planReverse(config, database, source, target);
  const refusal = reverseRefusal(plan);
  if (refusal) throw new ProblemError('reverse_impossible', `switchover ${database}: ${refusal.message}`, { hint: refusal.hint });
  // A table the target publishes must have a usable replica identity there, or the new
  // primary refuses its UPDATEs and DELETEs; set (and record) what the target lacks.
  const changes = new IdentityChanges(config, 'target', target);
  try {
    for (const p of plan.identities) await applyReplicaIdentity(changes, p);
  } finally {
    await changes.close();
  }
  const tables = plan.tables;
  const listSql = publicationTablesSql(tables);
  const pub = await target.maybeOne('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [names.reversePublication]);
  if (!pub) {
    // A PostgreSQL 10 subscriber stops at a TRUNCATE message ("invalid logical
    // replication message type"), over and over: publish none to it.
    const withSql = featuresOf(source.version).replicatesTruncate ? '' : " WITH (publish = 'insert, update, delete')";
    await target.change(`CREATE PUBLICATION ${quoteIdent(names.reversePublication)}${tables.length ? ` FOR TABLE ${listSql}` : ''}${withSql}`); // sql-lint: safe (listSql is publicationTablesSql() output, withSql a constant)
  } else if (tables.length) {
    await target.change(`ALTER PUBLICATION ${quoteIdent(names.reversePublication)} SET TABLE ${listSql}`);
  }
  const sub = await subscriptionState(source, names.reverseSubscription);
  if (!sub) {
    const opts = [
      `slot_name = ${quoteLiteral(names.reverseSlot)}`, 'create_slot = false', 'enabled = false', 'copy_data = false',
    ];
    // origin = none (16+ on both ends): the target's publisher skips changes
    // that came from replication, a second guard against loops.
    if (featuresOf(source.version).originNone && featuresOf(target.version).originNone) opts.push("origin = 'none'");
    // The CONNECTION may hold the target password: kept out of the source's log and of errors.
    await createSubscription(source, names.reverseSubscription, peerConninfo(config.target, database), names.reversePublication, opts, emit);
  }
  return { tables: tables.length };
}

/**
 * Disable a subscription and wait until its workers have exited.
 * publisher: a session on the side it streams from, to wake the apply worker.
 * An idle apply worker notices the DISABLE only when it wakes up (a message
 * from the walsender, or its one-second timeout): with nothing to replicate,
 * from 15 on the publisher sends nothing at all, which cost a rollback most of
 * a second inside the pause. A mark on the publisher (src/replication/catch-up.ts) makes the
 * walsender speak; the worker then re-reads its subscription and exits. A
 * worker that still runs after WAKE_TERMINATE_MS is ended (only then: its
 * exit is logged as an error).
 */
export async function stopSubscription(db: Db, name: string, publisher?: Db, deadlineMs = 30_000): Promise<void> {
  await disableSubscription(db, name);
  // A dry run recorded the DISABLE: there is no worker exit to wait for.
  if (db.dryRun) return;
  const start = performance.now();
  const until = start + deadlineMs;
  let lastNudge = -Infinity;
  let terminated = false;
  while (true) {
    // The mark goes out beside the look (two sessions, two servers): a round trip less per nudge.
    let nudge: Promise<unknown> | undefined;
    if (publisher && performance.now() - lastNudge >= WAKE_NUDGE_MS) {
      lastNudge = performance.now();
      // Only a wake-up: a mark that fails (the publisher gone) leaves the worker to its own timeout or the terminate below.
      nudge = markPosition(publisher).catch(() => undefined);
    }
    const [r] = await Promise.all([
      db.query<{ pid: number }>(
        'SELECT st.pid FROM pg_catalog.pg_stat_subscription st JOIN pg_catalog.pg_subscription s ON s.oid = st.subid WHERE s.subname = $1 AND st.pid IS NOT NULL',
        [name],
      ),
      nudge,
    ]);
    if (r.length === 0) return;
    const now = performance.now();
    if (now > until) throw new Error(`the apply worker of subscription ${name} did not stop`);
    if (!terminated && now - start >= WAKE_TERMINATE_MS) {
      terminated = true;
      // Lacking the right to signal it is no failure: the worker still stops within its naptime.
      await db.query('SELECT pg_catalog.pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [r.map((w) => w.pid)]).catch(() => undefined);
    }
    await sleep(1);
  }
}

/** ALTER SUBSCRIPTION ... DISABLE; its apply worker exits when it next wakes (stopSubscription waits for that). */
export async function disableSubscription(db: Db, name: string): Promise<void> {
  await db.change(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`, [], { note: 'then waits until its apply worker has exited' });
}

const WAKE_NUDGE_MS = 10;
const WAKE_TERMINATE_MS = 250;

/**
 * The slot of the replication the other way, made before the pause on the
 * side taking over (creating one waits for every transaction there that holds
 * a transaction id: outside the pause, that wait costs no one anything).
 * Returns whether this call made it. Where it starts: startAt.
 */
export async function createSlotIfMissing(publisher: Db, slot: string): Promise<boolean> {
  const r = await publisher.change<{ slot_name: string }>("SELECT slot_name FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput') WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1)", [slot]);
  return r.length > 0;
}

/** Drop a slot made for replication the other way that nothing uses yet (a move given back before its commit point). */
export async function dropIdleSlot(publisher: Db, slot: string): Promise<void> {
  await publisher.change('SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot]);
}

/**
 * Replication the other way starts at `from`, the commit point's WAL position
 * on its publisher (the side taking over): what committed there before it
 * (what the feeding subscription applied up to the fence) is skipped, what
 * commits after it (the new primary's writes) is sent. Only while the
 * subscription is disabled, and only forward: a run finishing an interrupted
 * one may repeat it. Two ways, each where it can be done:
 *  - the subscription's replication origin on the subscriber is advanced
 *    (WAL-logged, so it survives a crash; the walsender starts where the
 *    subscriber asks when that is past what the slot confirmed). PostgreSQL
 *    lets only superusers, or roles granted EXECUTE, do it.
 *  - from 11 on, the slot itself is advanced, which also releases the WAL
 *    before `from`. pg_replication_slot_advance stops at the publisher's
 *    flushed WAL, so the WAL is flushed past `from` first, and the slot's
 *    position is checked afterwards. (Its new position reaches disk only with
 *    the next checkpoint: the origin is what makes a crash safe.)
 * Neither possible (a PostgreSQL 10 publisher and no right to advance the
 * origin): an error before the subscription is enabled, so a finishing run
 * tries again.
 */
/** Advance a slot nothing streams from, only forward (startAt). */
const SLOT_ADVANCE_SQL = 'SELECT pg_catalog.pg_replication_slot_advance(slot_name, $2::pg_lsn) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND NOT active AND confirmed_flush_lsn < $2::pg_lsn';

export async function startAt(publisher: Db, subscriber: Db, slot: string, subscription: string, from: string): Promise<void> {
  if (subscriber.dryRun || publisher.dryRun) {
    // A dry run: the subscription was only planned; what the code below does, recorded.
    await subscriber.change("SELECT pg_catalog.pg_replication_origin_advance('pg_' || s.oid, $2::pg_lsn) FROM pg_catalog.pg_subscription s WHERE s.subname = $1", [subscription, from], { note: 'where the role may advance replication origins, and only forward' });
    if (featuresOf(publisher.version).slotAdvance) {
      await publisher.change(SLOT_ADVANCE_SQL, [slot, from], { note: 'after a synchronous commit there flushed its WAL past that position' });
    }
    return;
  }
  // The privilege first, in a query of its own: PostgreSQL checks EXECUTE on every function of a
  // statement before running it, a CASE around the call does not spare a role without it.
  const sub = await subscriber.maybeOne<{ name: string; may: boolean }>(
    `SELECT 'pg_' || s.oid AS name,
            pg_catalog.has_function_privilege('pg_catalog.pg_replication_origin_advance(text, pg_lsn)', 'EXECUTE')
              AND pg_catalog.has_function_privilege('pg_catalog.pg_replication_origin_progress(text, boolean)', 'EXECUTE') AS may
       FROM pg_catalog.pg_subscription s
      WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
        AND NOT s.subenabled`,
    [subscription],
  );
  const origin = sub?.may
    ? { name: sub.name, progress: (await subscriber.one<{ progress: string | null }>('SELECT pg_catalog.pg_replication_origin_progress($1, false)::text AS progress', [sub.name])).progress }
    : undefined;
  if (origin && (origin.progress === null || !lsnGte(origin.progress, from))) {
    await subscriber.change('SELECT pg_catalog.pg_replication_origin_advance($1, $2::pg_lsn)', [origin.name, from]);
  }
  if (featuresOf(publisher.version).slotAdvance) {
    // A synchronous commit flushes the publisher's WAL past `from` (read earlier as the insert position).
    await publisher.query('SELECT pg_catalog.txid_current()');
    await publisher.change(SLOT_ADVANCE_SQL, [slot, from]);
    const at = await publisher.maybeOne<{ confirmed: string | null; active: boolean }>(
      'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slot]);
    if (at?.confirmed && lsnGte(at.confirmed, from)) return;
    if (origin) return;
    throw new ProblemError('opposite_start_failed', `slot ${slot} could not be advanced to ${from} (it stands at ${at?.confirmed ?? 'nothing'}${at?.active ? ', in use by another process' : ''}), and the role may not advance the replication origin of subscription ${subscription}: enabling it would send back what replication brought`, {
      hint: 'Find what uses the slot (pg_stat_replication) and end it, then run the same command again to finish; or grant EXECUTE on pg_replication_origin_advance and pg_replication_origin_progress to the role.',
    });
  }
  if (!origin) {
    throw new ProblemError('opposite_start_failed', `subscription ${subscription} cannot be started at ${from}: its publisher (PostgreSQL ${publisher.version.major}) cannot advance a slot, and the role may not advance the subscription's replication origin`, {
      hint: 'Grant EXECUTE on pg_replication_origin_advance and pg_replication_origin_progress to the role on the subscriber side (or connect as a superuser), then run the same command again to finish.',
    });
  }
}

export async function enableSubscription(subscriber: Db, subscription: string): Promise<void> {
  await subscriber.change(`ALTER SUBSCRIPTION ${quoteIdent(subscription)} ENABLE`);
}

/**
 * Rollback: forward replication again, so a later switchover needs no new
 * initial copy. Before the pause, a disabled forward subscription on the
 * target with no slot and no copy (the tables are the same on both sides at
 * the rollback's fence); the pause makes its slot on the source and
 * enables it at that fence. Creating it proves the target can still reach
 * the source.
 */
export async function prepareForward(config: Config, database: string, names: MigrationNames, source: Db, target: Db, emit?: Emit): Promise<void> {
  if (await subscriptionState(target, names.subscription)) return;
  const pub = await source.maybeOne('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [names.publication]);
  if (!pub) {
    throw new ProblemError('forward_impossible', `rollback ${database}: the publication ${names.publication} is gone from the source, so replication cannot run source -> target again after the rollback`, {
      hint: `Roll back without restarting forward replication (--no-reverse; a later switchover then needs "pgshift cleanup" and a new "pgshift start"), or create it again with "pgshift start ${database}" first. Nothing was changed.`,
    });
  }
  const opts = subscriptionOptions(source.version, target.version, names.slot, false).map((o) => (o === 'enabled = true' ? 'enabled = false' : o));
  await createSubscription(target, names.subscription, subscriptionConninfo(config, database), names.publication, opts, emit);
}

/** Drop a subscription and, through it, its slot on the publisher. */
export async function dropSubscription(db: Db, name: string): Promise<boolean> {
  const s = await subscriptionState(db, name);
  if (!s) return false;
  if (s.enabled) await db.change(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`);
  await db.change(`DROP SUBSCRIPTION ${quoteIdent(name)}`);
  return true;
}

/**
 * Columns the reverse publication publishes that the source cannot take (a
 * table or column it lacks, or one generated there): each would stop the
 * source's apply worker at the first change that carries it. Read-only.
 */
export async function reverseColumnProblems(source: Db, target: Db, publication: string): Promise<string[]> {
  const published = await target.query<{ schema: string; name: string; columns: string[] | null }>(sqlFor('reverse-published-columns', target.version), [publication]);
  if (published.length === 0) return [];
  const theirs = await replicatedColumns(source);
  // A table without columns has none to list: only the table list says whether it exists.
  const tables = await tableNames(source);
  const out: string[] = [];
  for (const t of published) {
    const key = tableKey(t);
    const have = theirs.get(key) ?? (tables.has(key) ? [] : undefined);
    if (!have) {
      out.push(`${key} is published by the target but the source has no such table`);
      continue;
    }
    // attnames is NULL for a table without columns.
    const missing = (t.columns ?? []).filter((c) => !have.includes(c));
    if (missing.length) out.push(`${key}: the target publishes column(s) ${missing.join(', ')}, which the source lacks`);
  }
  return out;
}

export interface ReverseVerification {
  verified: boolean;
  /** The target position the source confirmed (the mark pgshift wrote after the resume). */
  confirmed?: string;
  /** Why the rollback path is not ready. */
  problem?: string;
}

/** After the resume: is the rollback path working (see the file header)? Waits up to timeoutMs for the source to confirm. */
export async function verifyReverse(names: MigrationNames, source: Db, target: Db, timeoutMs = 60_000): Promise<ReverseVerification> {
  const problems = await reverseColumnProblems(source, target, names.reversePublication);
  if (problems.length) {
    return { verified: false, problem: `the reverse publication carries what the source cannot take: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? '; ...' : ''}` };
  }
  try {
    const r = await waitForConfirmed(target, source, names.reverseSlot, performance.now() + timeoutMs);
    return { verified: true, confirmed: r.confirmed };
  } catch (e) {
    if (!(e instanceof CatchUpTimeout)) throw e;
    const sub = await findSubscription(source, names.reverseSubscription);
    const err = sub ? await lastReplicationError(source, { name: sub.name, oid: sub.oid }) : null;
    return {
      verified: false,
      problem: `in ${Math.round(timeoutMs / 1000)} s the source confirmed nothing past ${e.confirmed ?? 'the switchover point'} of the target (its apply worker for ${names.reverseSubscription} fails, or cannot connect to the target)${err ? `; last error in the source's log: ${describeLogError(err)}` : ''}`,
    };
  }
}

/** After a rollback: forward replication carries the source's writes again (the target confirmed a mark written on the source after the resume). */
export async function verifyForward(names: MigrationNames, source: Db, target: Db, timeoutMs = 60_000): Promise<ReverseVerification> {
  try {
    const r = await waitForConfirmed(source, target, names.slot, performance.now() + timeoutMs);
    return { verified: true, confirmed: r.confirmed };
  } catch (e) {
    if (!(e instanceof CatchUpTimeout)) return { verified: false, problem: `checking it failed: ${(e as Error).message}` };
    const sub = await findSubscription(target, names.subscription);
    const err = sub ? await lastReplicationError(target, { name: sub.name, oid: sub.oid }) : null;
    return {
      verified: false,
      problem: `in ${Math.round(timeoutMs / 1000)} s the target confirmed nothing past ${e.confirmed ?? 'the rollback point'} of the source (its apply worker for ${names.subscription} fails, or cannot connect to the source)${err ? `; last error in the target's log: ${describeLogError(err)}` : ''}`,
    };
  }
}
