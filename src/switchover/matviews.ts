// Materialized views around a switchover (and a rollback). Logical
// replication carries tables, not materialized views, and a schema-only copy
// leaves every view on the receiving side unpopulated, where a SELECT on it
// fails ("materialized view ... has not been populated"). The side that took
// the writes says which views hold data; the receiving side must never serve
// one of those unpopulated, nor a stale one:
//  - populate (before the pause): each view populated on the sending side
//    but not on the receiving one is refreshed there, while its tables are
//    current through replication and nothing reads it yet. A failure here
//    refuses the switchover before anything is paused;
//  - refresh (after writes resumed): every such view again, for the writes
//    made between the populate and the pause. CONCURRENTLY where a unique
//    index allows, so readers are not blocked; otherwise a plain REFRESH
//    (ACCESS EXCLUSIVE on the view while it runs).
// Both in dependency order: a view reading another (directly or through an
// ordinary view) comes after it, or it would read the old contents (or fail
// on an unpopulated one). Each view is timed and reported as it finishes.

import { performance } from 'node:perf_hooks';
import type { Db } from '../pg/connect.js';
import { qualify } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { warning, type Emit } from '../events.js';

export interface MatviewInfo {
  schema: string;
  name: string;
  populated: boolean;
  uniqueIndex: boolean;
  reads: { schema: string; name: string }[];
}

export interface MatviewRefresh {
  view: string;
  concurrently: boolean;
  ms: number;
  /** The error, when the refresh failed (the view keeps its contents, or stays unpopulated). */
  error?: string;
}

const key = (v: { schema: string; name: string }): string => `${v.schema}.${v.name}`;

export async function listMatviews(db: Db): Promise<MatviewInfo[]> {
  const rows = await db.query<{ schema: string; name: string; populated: boolean; unique_index: boolean; reads: { schema: string; name: string }[] }>(sqlFile('matviews'));
  return rows.map((r) => ({ schema: r.schema, name: r.name, populated: r.populated, uniqueIndex: r.unique_index, reads: r.reads }));
}

/** Views in an order where each comes after the views it reads (a cycle cannot exist; any rest keeps its order). */
export function dependencyOrder<T extends { schema: string; name: string; reads: { schema: string; name: string }[] }>(views: T[]): T[] {
  const byKey = new Map(views.map((v) => [key(v), v]));
  const out: T[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (v: T): void => {
    const k = key(v);
    if (state.get(k)) return;
    state.set(k, 'visiting');
    for (const r of v.reads) {
      const dep = byKey.get(key(r));
      if (dep && !state.get(key(dep))) visit(dep);
    }
    state.set(k, 'done');
    out.push(v);
  };
  for (const v of views) visit(v);
  return out;
}

/**
 * The receiving side's views that the sending side has populated, in
 * dependency order, with what the receiving side knows of each. Views the
 * receiving side lacks are left out (schema drift is reported elsewhere).
 */
export async function viewsToCarry(from: Db, to: Db): Promise<MatviewInfo[]> {
  const [sending, receiving] = await Promise.all([listMatviews(from), listMatviews(to)]);
  const populated = new Set(sending.filter((v) => v.populated).map(key));
  return dependencyOrder(receiving.filter((v) => populated.has(key(v))));
}

async function refreshOne(db: Db, v: MatviewInfo, concurrently: boolean): Promise<MatviewRefresh> {
  const t0 = performance.now();
  try {
    await db.change(`REFRESH MATERIALIZED VIEW ${concurrently ? 'CONCURRENTLY ' : ''}${qualify(v.schema, v.name)}`);
    return { view: key(v), concurrently, ms: performance.now() - t0 };
  } catch (e) {
    return { view: key(v), concurrently, ms: performance.now() - t0, error: (e as Error).message };
  }
}

async function refreshAll(db: Db, views: MatviewInfo[], how: 'populate' | 'refresh', emit: Emit): Promise<MatviewRefresh[]> {
  const out: MatviewRefresh[] = [];
  const side = db.side;
  for (const [i, v] of views.entries()) {
    // CONCURRENTLY needs a populated view and a unique index; a view that failed to populate stays plain.
    const r = await refreshOne(db, v, how === 'refresh' && v.uniqueIndex && v.populated);
    out.push(r);
    if (!r.error) v.populated = true;
    const verb = how === 'populate' ? 'populated' : `refreshed${r.concurrently ? ' concurrently' : ''}`;
    emit(r.error
      ? warning('matview_failed', `materialized view ${r.view} on the ${side}: ${how} failed after ${Math.round(r.ms)} ms: ${r.error}`)
      : { type: 'info', message: `materialized view ${r.view} ${verb} on the ${side} in ${Math.round(r.ms)} ms (${i + 1}/${views.length})` });
  }
  return out;
}

/** Before the pause: populate on the receiving side what the sending side has populated and it has not. */
export async function populateViews(from: Db, to: Db, emit: Emit): Promise<MatviewRefresh[]> {
  const views = (await viewsToCarry(from, to)).filter((v) => !v.populated);
  return refreshAll(to, views, 'populate', emit);
}

/** After the resume: refresh on the receiving side every view the sending side had populated. */
export async function refreshViews(from: Db, to: Db, emit: Emit): Promise<MatviewRefresh[]> {
  return refreshAll(to, await viewsToCarry(from, to), 'refresh', emit);
}
