// Step "cleanup": drop every publication, subscription and replication slot
// pgshift made for a database, on both sides (forward and reverse objects,
// and the table-sync slots PostgreSQL made for our subscriptions), and
// pgshift's switchover bookkeeping (lifting a fence a switchover or rollback
// killed before its point of no return left), and the record of NOT VALID
// CHECK constraints schema deferred (added now: no copy can run any more);
// then put back the replica identities pgshift set on each side
// (identity-record.ts). When one side cannot be reached, the
// other is still cleaned: a subscription whose slot lives on the unreachable
// side is disabled and detached from its slot (slot_name = NONE) before it is
// dropped, and the report lists exactly what is left there, with the SQL
// to remove it later.
// Needs: nothing (it removes, and adds only the deferred constraints). Idempotent: it looks for each object by
// its deterministic name and drops what it finds.

import type { Config } from '../config/config.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { PgshiftError, SafetyError } from '../errors.js';
import type { Emit } from '../events.js';
import { silent } from '../events.js';
import { sleep } from '../util/wait.js';
import { namesFor } from '../replication/names.js';
import { databaseConfig } from '../config/config.js';
import { deleteFence, readFence } from '../switchover/state.js';
import { manualUnfenceSql, PAUSE_IMPLS } from '../switchover/pause.js';
import { unfenceHint } from '../switchover/fence-status.js';
import { addDeferredChecks, checkLabel, pendingDeferred } from '../checks/deferred-constraints.js';
import { restoreReplicaIdentities, type RestoredIdentities } from '../replication/identity-record.js';

export interface LeftBehind {
  side: Side;
  reason: string;
  objects: string[];
  /** SQL to run on that side (in the database named) once it is back. */
  database: string;
  sql: string[];
}

export interface CleanupResult {
  database: string;
  dropped: { side: Side; object: string }[];
  left: LeftBehind[];
  /**
   * Fences still in place, with the SQL that would lift them: a finished
   * switchover's (or rollback's), or one that passed its point of no return.
   * A fence whose run stopped before that point is lifted (listed in dropped).
   */
  fences: { side: Side; method: string; sql: string[] }[];
  /** Replica identities pgshift had set, put back per side (identity-record.ts); tables left as they are, and why. */
  identities: RestoredIdentities[];
}

async function tryConnect(config: Config, side: Side, database: string): Promise<{ db?: Db; admin?: Db; error?: string }> {
  const ep = side === 'source' ? config.source : config.target;
  try {
    const db = await connect(side, ep, { database, connectTimeoutMs: 5000, applicationName: 'pgshift cleanup' });
    const admin = await connect(side, ep, { database: maintenanceDb(config, side, database), connectTimeoutMs: 5000, applicationName: 'pgshift cleanup' });
    // A side left read-only by a readonly fence is read-only for clients, not for cleanup.
    for (const d of [db, admin]) await d.query('SET default_transaction_read_only = off');
    return { db, admin };
  } catch (e) {
    if (e instanceof PgshiftError && e.exitCode === 3) throw e;
    return { error: (e as Error).message };
  }
}

async function subOid(db: Db, name: string): Promise<string | undefined> {
  const r = await db.maybeOne<{ oid: string }>(
    'SELECT s.oid::text AS oid FROM pg_catalog.pg_subscription s WHERE s.subname = $1 AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())',
    [name],
  );
  return r?.oid;
}

export async function cleanup(config: Config, database: string, opts: { emit?: Emit } = {}): Promise<CleanupResult> {
  databaseConfig(config, database);
  const emit = opts.emit ?? silent;
  const names = namesFor(database);
  const result: CleanupResult = { database, dropped: [], left: [], fences: [], identities: [] };
  const [src, tgt] = await Promise.all([tryConnect(config, 'source', database), tryConnect(config, 'target', database)]);
  const conns: Record<Side, typeof src> = { source: src, target: tgt };
  const other = (s: Side): Side => (s === 'source' ? 'target' : 'source');
  // Each side: the subscription it holds, the publication and slot it holds.
  const plan: Record<Side, { sub: string; pub: string; slot: string }> = {
    target: { sub: names.subscription, pub: names.reversePublication, slot: names.reverseSlot },
    source: { sub: names.reverseSubscription, pub: names.publication, slot: names.slot },
  };
  const leftOn: Record<Side, { objects: string[]; sql: string[] }> = { source: { objects: [], sql: [] }, target: { objects: [], sql: [] } };
  const syncOwners: Record<Side, string[]> = { source: [], target: [] };

  // Subscriptions first, so the slots they use become free.
  for (const side of ['target', 'source'] as Side[]) {
    const c = conns[side];
    if (!c.db) continue;
    const oid = await subOid(c.db, plan[side].sub);
    if (!oid) continue;
    syncOwners[other(side)].push(oid);
    const subSql = quoteIdent(plan[side].sub);
    await c.db.query(`ALTER SUBSCRIPTION ${subSql} DISABLE`);
    const peer = conns[other(side)].db;
    const slotName = side === 'target' ? names.slot : names.reverseSlot;
    const slotThere = peer ? await peer.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slotName]) : undefined;
    if (peer && !slotThere) {
      // Its slot is already gone (an earlier cleanup ran while this side was down).
      await c.db.query(`ALTER SUBSCRIPTION ${subSql} SET (slot_name = NONE)`);
    } else if (!peer) {
      // The slot lives on the side we cannot reach: detach it, or DROP SUBSCRIPTION would try to drop it there and fail.
      await c.db.query(`ALTER SUBSCRIPTION ${subSql} SET (slot_name = NONE)`);
      leftOn[other(side)].objects.push(`replication slot ${slotName}`);
    }
    await c.db.query(`DROP SUBSCRIPTION ${subSql}`);
    result.dropped.push({ side, object: `subscription ${plan[side].sub}` });
    emit({ type: 'info', message: `dropped subscription ${plan[side].sub} on the ${side}` });
  }

  for (const side of ['source', 'target'] as Side[]) {
    const c = conns[side];
    const { pub, slot } = plan[side];
    if (!c.db || !c.admin) {
      const l = leftOn[side];
      l.objects.push(`publication ${pub}`, `replication slot ${slot}`, `subscription ${plan[side].sub}`, 'table-sync slots pg_<suboid>_sync_* of pgshift subscriptions');
      l.sql.push(
        `DROP PUBLICATION IF EXISTS ${quoteIdent(pub)};`,
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN (${quoteLiteral(slot)}) OR slot_name LIKE ${quoteLiteral('pg\\_%\\_sync\\_%')} AND NOT active;`,
        `ALTER SUBSCRIPTION ${quoteIdent(plan[side].sub)} DISABLE; ALTER SUBSCRIPTION ${quoteIdent(plan[side].sub)} SET (slot_name = NONE); DROP SUBSCRIPTION ${quoteIdent(plan[side].sub)};`,
        `DELETE FROM pgshift.switchover_fence WHERE database = ${quoteLiteral(database)};  -- in the maintenance database, if the table exists`,
        `-- and run "pgshift cleanup ${database}" again once the ${side} is back: it puts back the replica identities pgshift set there (recorded in pgshift.replica_identity of its maintenance database)`,
      );
      l.objects.push(`replica identities pgshift set on tables of ${database}, if any (recorded in pgshift.replica_identity of the maintenance database)`);
      result.left.push({ side, reason: c.error ?? 'unreachable', objects: [...new Set(l.objects)], database, sql: l.sql });
      continue;
    }
    const slots = await c.db.query<{ slot_name: string; active: boolean; active_pid: number | null }>(sqlFile('cleanup-slots'), [[slot], syncOwners[side]]);
    for (const sl of slots) {
      for (let i = 0; i < 200; i++) {
        const r = await c.db.maybeOne<{ active_pid: number | null }>('SELECT active_pid FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [sl.slot_name]);
        if (!r || r.active_pid === null) break;
        // A walsender of a subscription that is gone (or detached) still holds it: end it.
        if (i > 20) await c.db.query('SELECT pg_catalog.pg_terminate_backend($1)', [r.active_pid]);
        await sleep(25);
      }
      const gone = await c.db.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [sl.slot_name]);
      if (gone) await c.db.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [sl.slot_name]);
      result.dropped.push({ side, object: `replication slot ${sl.slot_name}` });
    }
    const p = await c.db.maybeOne('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [pub]);
    if (p) {
      await c.db.query(`DROP PUBLICATION ${quoteIdent(pub)}`);
      result.dropped.push({ side, object: `publication ${pub}` });
    }
    const fence = await readFence(c.admin, database);
    if (fence) {
      if (fence.phase === 'pausing' || fence.phase === 'paused') {
        // A run killed before its point of no return: this side is still the one that
        // takes writes, so lifting the fence is the whole undo, and once the record is
        // gone nobody else would know what to give back.
        const ctx = { config, database, side, admin: c.admin, otherAdmin: conns[other(side)].admin ?? c.admin, record: fence, emit };
        try {
          await PAUSE_IMPLS[fence.method].undo(ctx);
        } catch (e) {
          throw new SafetyError('unfence_failed', `cleanup ${database}: giving writes back to the ${side} (fenced by an interrupted ${fence.direction}) failed: ${(e as Error).message}`, {
            hint: unfenceHint(config, fence), cause: e,
          });
        }
        result.dropped.push({ side, object: `fence of an interrupted ${fence.direction} (${fence.method}): writes given back` });
        emit({ type: 'info', message: `lifted the fence an interrupted ${fence.direction} left on the ${side} (${fence.method})` });
      } else {
        // A finished pgbouncer run left nothing paused (PgBouncer already points at the other side): no fence to report.
        const sql = manualUnfenceSql(fence, config);
        if (sql.length > 0) result.fences.push({ side, method: fence.method, sql });
      }
      await deleteFence(c.admin, database);
      result.dropped.push({ side, object: 'switchover bookkeeping (pgshift.switchover_fence row)' });
    }
    // Last on this side: its publication is gone, so no table goes back to an identity it cannot publish with.
    const ids = await restoreReplicaIdentities(c.admin, c.db);
    // Reported with the result (the CLI groups them: there may be hundreds).
    if (ids.restored.length > 0 || ids.kept.length > 0) result.identities.push(ids);
  }
  // NOT VALID CHECK constraints schema left out until the initial copy
  // (deferred-constraints.ts): with the subscription gone no copy can run, so
  // they are added now and their record goes.
  if (tgt.db && (await pendingDeferred(tgt.db)).length > 0) {
    if (src.db) {
      const added = await addDeferredChecks(src.db, tgt.db, emit);
      result.dropped.push({ side: 'target', object: `record of deferred NOT VALID CHECK constraints (pgshift.deferred_constraints)${added.length ? `; added: ${added.map(checkLabel).join(', ')}` : ''}` });
    } else {
      leftOn.target.objects.push('pgshift.deferred_constraints (NOT VALID CHECK constraints still to add: their definitions are read from the source)');
    }
  }
  for (const side of ['source', 'target'] as Side[]) {
    const l = leftOn[side];
    if (conns[side].db && l.objects.length === 0) continue;
    if (!conns[side].db) continue;
    result.left.push({ side, reason: 'unreachable peer', objects: l.objects, database, sql: l.sql });
  }
  await Promise.all([src.db, src.admin, tgt.db, tgt.admin].map((d) => d?.close()));
  emit({
    type: 'result',
    data: {
      kind: 'cleanup', database,
      dropped: result.dropped.map((d) => `${d.side}: ${d.object}`),
      left: result.left.flatMap((l) => l.objects.map((o) => `${l.side}: ${o} (${l.reason})`)),
      fences: result.fences.map((f) => `${f.side}: ${f.method}`),
    },
  });
  return result;
}
