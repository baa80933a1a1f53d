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
import type { DryRun } from '../pg/dry-run.js';
import { sqlFile } from '../pg/sql.js';
import { PgshiftError, SafetyError } from '../errors.js';
import type { Emit } from '../events.js';
import { silent } from '../events.js';
import { sleep } from '../util/wait.js';
import { namesFor, type MigrationNames } from '../replication/names.js';
import { databaseConfig } from '../config/config.js';
import { deleteFence, readFence, type FenceRecord } from '../switchover/state.js';
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

async function tryConnect(config: Config, side: Side, database: string, dryRun?: DryRun): Promise<{ db?: Db; admin?: Db; error?: string }> {
  const ep = side === 'source' ? config.source : config.target;
  try {
    const db = await connect(side, ep, { database, connectTimeoutMs: 5000, applicationName: 'pgshift cleanup', dryRun });
    const admin = await connect(side, ep, { database: maintenanceDb(config, side, database), connectTimeoutMs: 5000, applicationName: 'pgshift cleanup', dryRun });
    // A side left read-only by a readonly fence is read-only for clients, not for cleanup.
    for (const d of [db, admin]) await d.allowWrites();
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

export interface CleanupOptions {
  emit?: Emit;
  /** Plan only (src/pg/dry-run.ts): every look runs, every drop is recorded here instead of made. */
  dryRun?: DryRun;
}

export async function cleanup(config: Config, database: string, opts: CleanupOptions = {}): Promise<CleanupResult> {
  databaseConfig(config, database);
  const [src, tgt] = await Promise.all([tryConnect(config, 'source', database, opts.dryRun), tryConnect(config, 'target', database, opts.dryRun)]);
  const run = new CleanupRun(config, database, opts, { source: src, target: tgt });
  // Subscriptions first, so the slots they use become free.
  for (const side of ['target', 'source'] as Side[]) await run.dropSubscription(side);
  for (const side of ['source', 'target'] as Side[]) await run.cleanSide(side);
  await run.addDeferredChecks();
  return run.finish();
}

type Connections = Awaited<ReturnType<typeof tryConnect>>;

/** One cleanup: what each side holds, what was dropped, and what is left on a side it could not reach. */
class CleanupRun {
  readonly result: CleanupResult;
  private readonly emit: Emit;
  private readonly dryRun?: DryRun;
  private readonly names: MigrationNames;
  /** Each side: the subscription it holds, the publication and slot it holds. */
  private readonly plan: Record<Side, { sub: string; pub: string; slot: string }>;
  private readonly leftOn: Record<Side, { objects: string[]; sql: string[] }> = { source: { objects: [], sql: [] }, target: { objects: [], sql: [] } };
  /** OIDs of the dropped subscriptions whose table-sync slots may be left on each side. */
  private readonly syncOwners: Record<Side, string[]> = { source: [], target: [] };
  /** Slots a DROP SUBSCRIPTION drops itself on the peer (it is attached to them): in a dry run they are still there. */
  private readonly droppedWithSubscription: Record<Side, string[]> = { source: [], target: [] };

  constructor(private readonly config: Config, private readonly database: string, opts: CleanupOptions, private readonly conns: Record<Side, Connections>) {
    this.emit = opts.emit ?? silent;
    this.dryRun = opts.dryRun;
    const names = this.names = namesFor(database);
    this.plan = {
      target: { sub: names.subscription, pub: names.reversePublication, slot: names.reverseSlot },
      source: { sub: names.reverseSubscription, pub: names.publication, slot: names.slot },
    };
    this.result = { database, dropped: [], left: [], fences: [], identities: [] };
  }

  /** The subscription this side holds, detached from its slot when that is gone or out of reach. */
  async dropSubscription(side: Side): Promise<void> {
    const { plan, names, result } = this;
    const db = this.conns[side].db;
    if (!db) return;
    const oid = await subOid(db, plan[side].sub);
    if (!oid) return;
    this.syncOwners[other(side)].push(oid);
    this.dryRun?.step(`subscription ${plan[side].sub} on the ${side}`);
    const subSql = quoteIdent(plan[side].sub);
    await db.change(`ALTER SUBSCRIPTION ${subSql} DISABLE`);
    const peer = this.conns[other(side)].db;
    const slotName = side === 'target' ? names.slot : names.reverseSlot;
    const slotThere = peer ? await peer.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slotName]) : undefined;
    if (peer && !slotThere) {
      // Its slot is already gone (an earlier cleanup ran while this side was down).
      await db.change(`ALTER SUBSCRIPTION ${subSql} SET (slot_name = NONE)`);
    } else if (!peer) {
      // The slot lives on the side we cannot reach: detach it, or DROP SUBSCRIPTION would try to drop it there and fail.
      await db.change(`ALTER SUBSCRIPTION ${subSql} SET (slot_name = NONE)`);
      this.leftOn[other(side)].objects.push(`replication slot ${slotName}`);
    } else {
      this.droppedWithSubscription[other(side)].push(slotName);
    }
    await db.change(`DROP SUBSCRIPTION ${subSql}`, [], {
      note: peer && slotThere ? `it also drops its replication slot ${slotName} (and table-sync slots) on the ${other(side)}` : undefined,
    });
    result.dropped.push({ side, object: `subscription ${plan[side].sub}` });
    this.emit({ type: 'info', message: `dropped subscription ${plan[side].sub} on the ${side}` });
  }

  /** Slots, publication, fence record and replica identities on one side; what an unreachable side keeps, with the SQL to remove it. */
  async cleanSide(side: Side): Promise<void> {
    const c = this.conns[side];
    if (!c.db || !c.admin) {
      this.leftUnreachable(side, c.error);
      return;
    }
    const { pub } = this.plan[side];
    const slots = await c.db.query<{ slot_name: string; active: boolean; active_pid: number | null }>(sqlFile('cleanup-slots'), [[this.plan[side].slot], this.syncOwners[side]]);
    this.dryRun?.step(`replication slots and publication ${pub} on the ${side}`);
    for (const sl of slots) await this.dropSlot(c.db, side, sl);
    if (await c.db.maybeOne('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [pub])) {
      await c.db.change(`DROP PUBLICATION ${quoteIdent(pub)}`);
      this.result.dropped.push({ side, object: `publication ${pub}` });
    }
    await this.removeFence(c.admin, side);
    // Last on this side: its publication is gone, so no table goes back to an identity it cannot publish with.
    this.dryRun?.step(`replica identities on the ${side} (put back as before pgshift)`);
    const ids = await restoreReplicaIdentities(c.admin, c.db);
    // Reported with the result (the CLI groups them: there may be hundreds).
    if (ids.restored.length > 0 || ids.kept.length > 0) this.result.identities.push(ids);
  }

  private leftUnreachable(side: Side, error: string | undefined): void {
    const { database, plan } = this;
    const { pub, slot } = plan[side];
    const l = this.leftOn[side];
    l.objects.push(`publication ${pub}`, `replication slot ${slot}`, `subscription ${plan[side].sub}`, 'table-sync slots pg_<suboid>_sync_* of pgshift subscriptions');
    l.sql.push(
      `DROP PUBLICATION IF EXISTS ${quoteIdent(pub)};`,
      `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN (${quoteLiteral(slot)}) OR slot_name LIKE ${quoteLiteral('pg\\_%\\_sync\\_%')} AND NOT active;`,
      `ALTER SUBSCRIPTION ${quoteIdent(plan[side].sub)} DISABLE; ALTER SUBSCRIPTION ${quoteIdent(plan[side].sub)} SET (slot_name = NONE); DROP SUBSCRIPTION ${quoteIdent(plan[side].sub)};`,
      `DELETE FROM pgshift.switchover_fence WHERE database = ${quoteLiteral(database)};  -- in the maintenance database, if the table exists`,
      `-- and run "pgshift cleanup ${database}" again once the ${side} is back: it puts back the replica identities pgshift set there (recorded in pgshift.replica_identity of its maintenance database)`,
    );
    l.objects.push(`replica identities pgshift set on tables of ${database}, if any (recorded in pgshift.replica_identity of the maintenance database)`);
    this.result.left.push({ side, reason: error ?? 'unreachable', objects: [...new Set(l.objects)], database, sql: l.sql });
  }

  /** A slot of pgshift's on this side: its walsender ended if a gone subscription's still holds it, then dropped. */
  private async dropSlot(db: Db, side: Side, sl: { slot_name: string; active: boolean; active_pid: number | null }): Promise<void> {
    if (this.dryRun) {
      // The subscription was not dropped, so its walsender still holds the slot: nothing to wait for.
      const bySubscription = this.droppedWithSubscription[side].includes(sl.slot_name) || /^pg_\d+_sync_/.test(sl.slot_name);
      const only = bySubscription ? 'only if DROP SUBSCRIPTION left it' : undefined;
      if (sl.active && sl.active_pid !== null) {
        const ifLeft = bySubscription ? 'only if DROP SUBSCRIPTION left the slot and ' : 'only if ';
        await db.change('SELECT pg_catalog.pg_terminate_backend($1)', [sl.active_pid], { note: `${ifLeft}its walsender (pid ${sl.active_pid} now) still holds it after about half a second` });
      }
      await db.change('SELECT pg_catalog.pg_drop_replication_slot($1)', [sl.slot_name], { note: only });
      this.result.dropped.push({ side, object: `replication slot ${sl.slot_name}` });
      return;
    }
    for (let i = 0; i < 200; i++) {
      const r = await db.maybeOne<{ active_pid: number | null }>('SELECT active_pid FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [sl.slot_name]);
      if (!r || r.active_pid === null) break;
      // A walsender of a subscription that is gone (or detached) still holds it: end it.
      if (i > 20) await db.change('SELECT pg_catalog.pg_terminate_backend($1)', [r.active_pid]);
      await sleep(25);
    }
    const gone = await db.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [sl.slot_name]);
    if (gone) await db.change('SELECT pg_catalog.pg_drop_replication_slot($1)', [sl.slot_name]);
    this.result.dropped.push({ side, object: `replication slot ${sl.slot_name}` });
  }

  /**
   * The switchover bookkeeping on this side. A run killed before its point of
   * no return left this side as the one that takes writes, so lifting its
   * fence is the whole undo (once the record is gone nobody else would know
   * what to give back); a finished one's fence is reported with the SQL that
   * lifts it.
   */
  private async removeFence(admin: Db, side: Side): Promise<void> {
    const { config, database, result } = this;
    const fence = await readFence(admin, database);
    if (!fence) return;
    const interrupted = fence.phase === 'pausing' || fence.phase === 'paused';
    if (this.dryRun) {
      this.dryRun.step(`switchover bookkeeping on the ${side}`);
      await planFenceRemoval(admin, fence, config, side);
    } else if (interrupted) {
      const ctx = { config, database, side, admin, otherAdmin: this.conns[other(side)].admin ?? admin, record: fence, emit: this.emit };
      try {
        await PAUSE_IMPLS[fence.method].undo(ctx);
      } catch (e) {
        throw new SafetyError('unfence_failed', `cleanup ${database}: giving writes back to the ${side} (fenced by an interrupted ${fence.direction}) failed: ${(e as Error).message}`, {
          hint: unfenceHint(config, fence), cause: e,
        });
      }
      this.emit({ type: 'info', message: `lifted the fence an interrupted ${fence.direction} left on the ${side} (${fence.method})` });
    }
    if (interrupted) {
      result.dropped.push({ side, object: `fence of an interrupted ${fence.direction} (${fence.method}): writes given back` });
    } else {
      // A finished pgbouncer run left nothing paused (PgBouncer already points at the other side): no fence to report.
      const sql = manualUnfenceSql(fence, config);
      if (sql.length > 0) result.fences.push({ side, method: fence.method, sql });
    }
    if (!this.dryRun) await deleteFence(admin, database);
    result.dropped.push({ side, object: 'switchover bookkeeping (pgshift.switchover_fence row)' });
  }

  /**
   * NOT VALID CHECK constraints schema left out until the initial copy
   * (deferred-constraints.ts): with the subscription gone no copy can run, so
   * they are added now and their record goes.
   */
  async addDeferredChecks(): Promise<void> {
    const src = this.conns.source.db;
    const tgt = this.conns.target.db;
    if (!tgt || (await pendingDeferred(tgt)).length === 0) return;
    if (!src) {
      this.leftOn.target.objects.push('pgshift.deferred_constraints (NOT VALID CHECK constraints still to add: their definitions are read from the source)');
      return;
    }
    this.dryRun?.step('NOT VALID CHECK constraints deferred by schema, on the target');
    const added = await addDeferredChecks(src, tgt, this.emit);
    this.result.dropped.push({ side: 'target', object: `record of deferred NOT VALID CHECK constraints (pgshift.deferred_constraints)${added.length ? `; added: ${added.map(checkLabel).join(', ')}` : ''}` });
  }

  /** What a reachable side could not clean on its unreachable peer; the connections closed; the result event. */
  async finish(): Promise<CleanupResult> {
    const { result, database } = this;
    for (const side of ['source', 'target'] as Side[]) {
      const l = this.leftOn[side];
      if (!this.conns[side].db || l.objects.length === 0) continue;
      result.left.push({ side, reason: 'unreachable peer', objects: l.objects, database, sql: l.sql });
    }
    await Promise.all([this.conns.source.db, this.conns.source.admin, this.conns.target.db, this.conns.target.admin].map((d) => d?.close()));
    // A dry run ended nothing: no result for the journal or the metrics.
    if (this.dryRun) return result;
    this.emit({
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
}

function other(s: Side): Side {
  return s === 'source' ? 'target' : 'source';
}

/**
 * What lifting and forgetting a fence would run, for a dry run. The pause
 * methods' undo (src/switchover/pause.ts) runs its statements itself, so the
 * plan shows the statements that give back what the record says was taken
 * (manualUnfenceSql); deleteFence's statements (src/switchover/state.ts) follow.
 */
async function planFenceRemoval(admin: Db, fence: FenceRecord, config: Config, side: Side): Promise<void> {
  let elsewhere: string | undefined;
  if (fence.phase === 'pausing' || fence.phase === 'paused') {
    const undo = manualUnfenceSql(fence, config);
    if (fence.method === 'revoke' || fence.method === 'readonly') {
      const note = `gives writes back on the ${side}: the ${fence.method} fence of an interrupted ${fence.direction}`;
      for (const line of undo) await admin.change(line, [], { note });
    } else {
      // PgBouncer's RESUME and the user's resume command do not run on this server.
      elsewhere = `first, writes are given back (${fence.method} fence of an interrupted ${fence.direction}): ${undo.join(' ')}`;
    }
  }
  await admin.change('DELETE FROM pgshift.switchover_fence WHERE database = $1', [fence.database], { note: elsewhere });
  const left = await admin.one<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.switchover_fence WHERE database <> $1', [fence.database]);
  if (left.n === 0) {
    await admin.change('DROP TABLE pgshift.switchover_fence');
    await admin.change("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift') THEN DROP SCHEMA IF EXISTS pgshift; END IF; END $$");
  }
}
