// Replica identity: logical replication can only carry UPDATE and DELETE for a
// table whose rows the subscriber can find again, i.e. a table with a replica
// identity. This step plans one per table and applies it on the source.
//
// Needs: a connection to the source database; the tables to replicate.
// Plan (read-only): a table with a primary key and the default identity, or an
// explicit USING INDEX / FULL identity that works, is kept. A table without a
// primary key gets the smallest unique, non-partial, immediate index whose key
// columns are all NOT NULL; failing that, REPLICA IDENTITY FULL; failing that
// (a column type without an equality operator, e.g. json or point, which the
// subscriber cannot compare), 'cannot': replication would carry its INSERTs but
// not its UPDATEs or DELETEs, so switchover must copy that table instead.
// Partitioned tables are planned per leaf partition: a partitioned table's
// rows live in its partitions, and so does their identity.
// Idempotent: a table whose planned identity is in place plans as 'keep'.
// Apply takes an ACCESS EXCLUSIVE lock on the table for a catalog-only change,
// and records the table's original identity first (identity-record.ts), which
// cleanup puts back.

import type { Db } from '../pg/connect.js';
import { listTables, tableKey, type TableInfo } from '../pg/catalog.js';
import { sqlFor } from '../pg/sql.js';
import type { IdentityChanges } from './identity-record.js';

export interface ReplicaIdentityPlan {
  table: TableInfo;
  action: 'keep' | 'use-index' | 'full' | 'cannot';
  index?: string;
  reason: string;
}

/** What the catalog says about one table's identity options (see replica-identity.sql). */
export interface IdentityFacts {
  replident: 'd' | 'n' | 'f' | 'i';
  pkIndex: string | null;
  replidentIndex: string | null;
  candidates: { name: string; ncols: number }[];
  noEquality: { column: string; type: string }[];
}

/** The decision, from catalog facts alone (pure; unit-tested). */
export function decideReplicaIdentity(f: IdentityFacts): Omit<ReplicaIdentityPlan, 'table'> {
  if (f.replident === 'd' && f.pkIndex) return { action: 'keep', reason: `primary key ${f.pkIndex}` };
  if (f.replident === 'i' && f.replidentIndex) return { action: 'keep', reason: `replica identity index ${f.replidentIndex}` };
  const badColumns = f.noEquality.map((c) => `${c.column} (${c.type})`).join(', ');
  if (f.replident === 'f' && f.noEquality.length === 0) return { action: 'keep', reason: 'replica identity FULL' };
  // REPLICA IDENTITY NOTHING on a table with a primary key: its key is the natural choice.
  const pick = f.pkIndex ? f.candidates.find((c) => c.name === f.pkIndex) ?? f.candidates[0] : f.candidates[0];
  if (pick) {
    const why = f.pkIndex && pick.name === f.pkIndex
      ? `primary key ${pick.name} (the table's replica identity is NOTHING)`
      : `unique index ${pick.name} on ${pick.ncols} NOT NULL column${pick.ncols === 1 ? '' : 's'} (no primary key)`;
    return { action: 'use-index', index: pick.name, reason: why };
  }
  if (f.noEquality.length > 0) {
    return {
      action: 'cannot',
      // sql-lint: safe (a message, not SQL)
      reason: `no primary key or usable unique index, and REPLICA IDENTITY FULL cannot serve: ${f.noEquality.length === 1 ? 'column' : 'columns'} ${badColumns} ${f.noEquality.length === 1 ? 'has' : 'have'} no equality operator; UPDATE and DELETE cannot be replicated, switchover copies this table`,
    };
  }
  return { action: 'full', reason: 'no primary key or unique NOT NULL index: REPLICA IDENTITY FULL (every UPDATE/DELETE is matched on all columns; slow on large tables)' };
}

type FactsRow = {
  oid: string;
  replident: IdentityFacts['replident'];
  pk_index: string | null;
  replident_index: string | null;
  candidates: { name: string; ncols: number }[];
  no_equality: { column: string; type: string }[];
};

/** Leaf tables for the given ones: partitioned tables are replaced by their leaf partitions. */
export async function leafTables(db: Db, tables: TableInfo[]): Promise<TableInfo[]> {
  const partitioned = tables.filter((t) => t.relkind === 'p');
  const leaves = new Map<number, TableInfo>();
  for (const t of tables) if (t.relkind === 'r') leaves.set(t.oid, t);
  if (partitioned.length === 0) return [...leaves.values()];
  const rows = await db.query<{ relid: string }>(
    'SELECT DISTINCT t.relid::oid::int8 AS relid FROM unnest($1::oid[]) AS p(oid), LATERAL pg_catalog.pg_partition_tree(p.oid) t WHERE t.isleaf',
    [partitioned.map((t) => t.oid)],
  );
  const wanted = new Set(rows.map((r) => Number(r.relid)));
  const missing = [...wanted].filter((oid) => !leaves.has(oid));
  if (missing.length > 0) {
    for (const t of await listTables(db)) if (wanted.has(t.oid) && t.relkind === 'r') leaves.set(t.oid, t);
  }
  return [...leaves.values()].sort((a, b) => tableKey(a).localeCompare(tableKey(b)));
}

export async function planReplicaIdentities(db: Db, tables: TableInfo[]): Promise<ReplicaIdentityPlan[]> {
  const leaves = await leafTables(db, tables);
  if (leaves.length === 0) return [];
  const rows = await db.query<FactsRow>(sqlFor('replica-identity', db.version), [leaves.map((t) => t.oid)]);
  const facts = new Map(rows.map((r) => [Number(r.oid), r]));
  const plans: ReplicaIdentityPlan[] = [];
  for (const table of leaves) {
    const r = facts.get(table.oid);
    // Dropped since it was listed: nothing to replicate, nothing to plan.
    if (!r) continue;
    plans.push({
      table,
      ...decideReplicaIdentity({
        replident: r.replident,
        pkIndex: r.pk_index,
        replidentIndex: r.replident_index,
        candidates: r.candidates,
        noEquality: r.no_equality,
      }),
    });
  }
  return plans;
}

/** Set the planned identity (recorded for cleanup, see identity-record.ts). A no-op for 'keep' and 'cannot'. */
export async function applyReplicaIdentity(changes: IdentityChanges, plan: ReplicaIdentityPlan): Promise<void> {
  if (plan.action === 'use-index') {
    if (!plan.index) throw new TypeError('applyReplicaIdentity: use-index plan without an index');
    await changes.set(plan.table, { kind: 'index', index: plan.index });
  } else if (plan.action === 'full') {
    await changes.set(plan.table, { kind: 'full' });
  }
}
