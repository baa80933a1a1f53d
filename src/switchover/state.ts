// Switchover bookkeeping that must survive pgshift being killed: a row per
// fenced database in pgshift.switchover_fence, in the maintenance database of
// the cluster whose writes are paused. It records what the fence took away
// (revoked CONNECT grants, the previous read-only setting) before taking it,
// so any later run can give back exactly that.

import { sqlFile } from '../pg/sql.js';
import type { PauseMethod } from '../config/config.js';
import type { Db } from '../pg/connect.js';
import { faultPoint } from '../util/fault.js';

export type Direction = 'switchover' | 'rollback';
export type FencePhase = 'pausing' | 'paused' | 'committed' | 'done';

export interface Grant {
  /** Role name; null is PUBLIC. */
  grantee: string | null;
  grantable: boolean;
}

export interface FenceRecord {
  database: string;
  direction: Direction;
  method: PauseMethod;
  phase: FencePhase;
  revoked: Grant[];
  readonlyBefore: string | null;
  startedAt: string;
  /**
   * Set at the commit point: the receiving side's WAL position once it had
   * applied everything up to the fence. Replication the other way starts
   * there (its slot, made before the pause, skips what committed before it).
   */
  oppositeFrom?: string | null;
}

let ensured = new WeakSet<Db>();

async function ensure(db: Db): Promise<void> {
  if (ensured.has(db)) return;
  await db.change(sqlFile('switchover-state'));
  ensured.add(db);
}

/** The fence record of a database on this cluster, if any (no table: none). */
export async function readFence(admin: Db, database: string): Promise<FenceRecord | undefined> {
  const exists = await admin.one<{ t: string | null }>("SELECT pg_catalog.to_regclass('pgshift.switchover_fence')::text AS t");
  if (!exists.t) return undefined;
  // opposite_from through to_jsonb: a table an older pgshift made lacks the column until its next write.
  const r = await admin.maybeOne<{ database: string; direction: Direction; method: PauseMethod; phase: FencePhase; revoked: Grant[]; readonly_before: string | null; started_at: string; opposite_from: string | null }>(
    "SELECT database, direction, method, phase, revoked, readonly_before, started_at::text AS started_at, pg_catalog.to_jsonb(f) ->> 'opposite_from' AS opposite_from FROM pgshift.switchover_fence f WHERE database = $1",
    [database],
  );
  if (!r) return undefined;
  return { database: r.database, direction: r.direction, method: r.method, phase: r.phase, revoked: r.revoked, readonlyBefore: r.readonly_before, startedAt: r.started_at, oppositeFrom: r.opposite_from };
}

export async function writeFence(admin: Db, rec: Omit<FenceRecord, 'startedAt'>): Promise<void> {
  await ensure(admin);
  await admin.change(
    `INSERT INTO pgshift.switchover_fence (database, direction, method, phase, revoked, readonly_before)
     VALUES ($1, $2, $3, $4, $5::jsonb, $6)
     ON CONFLICT (database) DO UPDATE SET direction = EXCLUDED.direction, method = EXCLUDED.method, phase = EXCLUDED.phase,
       revoked = EXCLUDED.revoked, readonly_before = EXCLUDED.readonly_before, started_at = now(), updated_at = now()`,
    [rec.database, rec.direction, rec.method, rec.phase, JSON.stringify(rec.revoked), rec.readonlyBefore],
  );
  faultPoint(`fence:${rec.phase}`);
}

export async function setFencePhase(admin: Db, database: string, phase: FencePhase): Promise<void> {
  await admin.change('UPDATE pgshift.switchover_fence SET phase = $2, updated_at = now() WHERE database = $1', [database, phase]);
  faultPoint(`fence:${phase}`);
}

/**
 * The point of no return of several databases' records on one cluster, in one
 * statement (one commit for all of them): phase "committed", and where each
 * one's replication the other way starts.
 */
export async function commitFences(admin: Db, commits: { database: string; oppositeFrom: string | null }[]): Promise<void> {
  await admin.change(
    `UPDATE pgshift.switchover_fence f SET phase = 'committed', opposite_from = c.lsn::pg_lsn, updated_at = now()
     FROM unnest($1::text[], $2::text[]) AS c(database, lsn) WHERE f.database = c.database`,
    [commits.map((c) => c.database), commits.map((c) => c.oppositeFrom)],
  );
  faultPoint('fence:committed');
}

export async function updateFence(admin: Db, database: string, fields: { revoked?: Grant[]; readonlyBefore?: string | null }): Promise<void> {
  if (fields.revoked) await admin.change('UPDATE pgshift.switchover_fence SET revoked = $2::jsonb, updated_at = now() WHERE database = $1', [database, JSON.stringify(fields.revoked)]);
  if (fields.readonlyBefore !== undefined) await admin.change('UPDATE pgshift.switchover_fence SET readonly_before = $2, updated_at = now() WHERE database = $1', [database, fields.readonlyBefore]);
}

/** Forget a database's fence record, and only that: one statement, for inside the pause (deleteFence tidies up after). */
export async function deleteFenceRow(admin: Db, database: string): Promise<void> {
  await admin.change('DELETE FROM pgshift.switchover_fence WHERE database = $1', [database]);
}

export async function deleteFence(admin: Db, database: string): Promise<void> {
  const exists = await admin.one<{ t: string | null }>("SELECT pg_catalog.to_regclass('pgshift.switchover_fence')::text AS t");
  if (!exists.t) return;
  await admin.change('DELETE FROM pgshift.switchover_fence WHERE database = $1', [database]);
  // The table is ours alone; leave no empty bookkeeping behind.
  const left = await admin.one<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.switchover_fence');
  if (left.n === 0) {
    await admin.change('DROP TABLE pgshift.switchover_fence');
    await admin.change("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift') THEN DROP SCHEMA IF EXISTS pgshift; END IF; END $$");
    ensured = new WeakSet<Db>();
  }
}
