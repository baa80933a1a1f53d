// The publication on the sending side: which tables it holds (the plan, read
// from the catalogs: partitioned tables through their root where the server
// can, inheritance children named one by one with ONLY, tables without a
// usable replica identity left out and said so), the replica identities that
// plan needs, and the one statement that creates it or brings an existing one
// to exactly the planned list. Used by start, fast copy and both directions of
// the switchover.

import type { DatabaseConfig } from '../config/config.js';
import { SafetyError } from '../errors.js';
import { warning, type Emit } from '../events.js';
import type { Db } from '../pg/connect.js';
import { listTables, matchesPattern, replicatedTables, tableKey, type TableInfo } from '../pg/catalog.js';
import { qualify, quoteIdent, quoteIdentList } from '../pg/quote.js';
import { sqlFor } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { applyReplicaIdentity, planReplicaIdentities, type ReplicaIdentityPlan } from './replica-identity.js';
import type { IdentityChanges } from './identity-record.js';
import { findPublication, type PublicationInfo } from './subscription.js';

export interface NotCarriedTable {
  schema: string;
  name: string;
  reason: string;
}

/** What the publication should hold, and why some tables are not in it. */
export interface PublicationPlan {
  viaRoot: boolean;
  tables: TableInfo[];
  identities: ReplicaIdentityPlan[];
  notCarried: NotCarriedTable[];
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
    emit(warning('table_not_replicated', `${n.schema}.${n.name} is not replicated (${n.reason}); switchover copies it while writes are paused`));
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
    await source.change(`CREATE PUBLICATION ${quoteIdent(name)}${forSql}${withSql}`);
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
      await source.change(`ALTER PUBLICATION ${quoteIdent(name)} SET TABLE ${listSql}`);
    } else {
      const names = await source.query<{ schema: string; name: string }>(
        'SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY($1::oid[])',
        [existing.tableOids]);
      await source.change(`ALTER PUBLICATION ${quoteIdent(name)} DROP TABLE ${publicationTablesSql(names)}`);
    }
    emit({ type: 'info', message: `publication ${name}: table list updated (${have.length} -> ${want.length} tables)` });
    changed = true;
  }
  if (plan.viaRoot && !existing.viaRoot) {
    await source.change(`ALTER PUBLICATION ${quoteIdent(name)} SET (publish_via_partition_root = true)`);
    changed = true;
  }
  return changed ? 'updated' : 'unchanged';
}
