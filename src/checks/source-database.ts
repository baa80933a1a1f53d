// What check finds in one source database, from what it read there
// (SourceDatabaseFacts, gathered by readSourceDatabase in steps/check.ts):
// tables to replicate and their replica identities, exclude patterns that
// match nothing, the source role's privileges in the database, objects
// logical replication does not carry, NOT VALID checks, extensions the
// target lacks. Pure: no I/O, so each rule is unit-tested with facts made up
// in the test (test/unit/check-source.test.ts).

import type { Severity } from '../events.js';
import { matchesPattern, tableKey, type TableInfo } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import type { PublicationPlan } from '../replication/publication.js';
import type { ReplicaIdentityPlan } from '../replication/replica-identity.js';
import { checkLabel, type SourceCheck } from './deferred-constraints.js';
import type { LegacyProblem } from './legacy-objects.js';
import type { RestoreProblem } from './restore.js';

export interface Finding {
  /** Stable identifier, e.g. "wal_level", "capacity.source.max_wal_senders", "no-primary-key". */
  id: string;
  severity: Severity;
  side: 'source' | 'target' | 'both';
  /** Set for findings about one database. */
  database?: string;
  title: string;
  /** The objects concerned (tables, slots, extensions...), unquoted schema.name. */
  objects: string[];
  /** What to do about it. */
  fix?: string;
}

/** check-database.sql: what one source database holds besides its tables. */
export type SourceDatabaseCatalog = {
  large_objects: string;
  lo_columns: string[];
  materialized_views: { schema: string; name: string }[];
  extensions: { name: string; version: string }[];
  can_create: boolean;
};

/** Everything check reads in one source database. */
export interface SourceDatabaseFacts {
  database: string;
  /** The config's exclude patterns for this database. */
  exclude: string[];
  sourceMajor: number;
  /** The source publishes partitioned tables through their root (13+). */
  publishViaPartitionRoot: boolean;
  /** The source role's name. */
  role: string;
  /** Every table of the database, extensions' included. */
  all: TableInfo[];
  catalog: SourceDatabaseCatalog;
  /** The replica identity start would give each replicated table. */
  identities: ReplicaIdentityPlan[];
  /** What start would publish. */
  publication: Pick<PublicationPlan, 'tables' | 'notCarried'>;
  /** Replicated tables the source role does not own; null when it acts as a superuser (not read). */
  notOwned: { schema: string; name: string }[] | null;
  notValid: SourceCheck[];
  /** Objects the target cannot restore as the source has them (checks/restore.ts). */
  restore: RestoreProblem[];
  /** Objects the target's version cannot restore as an older source has them (checks/legacy-objects.ts). */
  legacy: LegacyProblem[];
  /** Extensions the target can CREATE. */
  targetExtensions: Set<string>;
}

const plural = (n: number, one: string, many = `${one}s`): string => (n === 1 ? one : many);

/** Extensions installed on the source with no package on the target. */
export function missingExtensions(installed: string[], available: Set<string>): string[] {
  return installed.filter((e) => !available.has(e)).sort();
}

export function sourceDatabaseFindings(f: SourceDatabaseFacts): Finding[] {
  return [
    ...excludeFindings(f),
    ...identityFindings(f),
    ...databasePrivilegeFindings(f),
    ...notReplicatedFindings(f),
    ...notValidFindings(f),
    ...f.restore.map((p): Finding => ({ ...p, side: 'source', database: f.database })),
    ...extensionFindings(f),
    ...f.legacy.map(({ short: _, ...p }): Finding => ({ ...p, side: 'source', database: f.database })),
  ];
}

/** A typo in an exclude pattern would replicate the table it meant to leave out. */
export function excludeFindings(f: Pick<SourceDatabaseFacts, 'database' | 'exclude' | 'all'>): Finding[] {
  const unmatched = f.exclude.filter((p) => !f.all.some((t) => matchesPattern(t, p)));
  if (unmatched.length === 0) return [];
  return [{
    id: 'exclude-unmatched', severity: 'warn', side: 'source', database: f.database,
    title: `${unmatched.length} exclude pattern${unmatched.length === 1 ? ' matches' : 's match'} no table in this database`,
    objects: unmatched,
    fix: `Check the spelling in databases.${f.database}.exclude of the config: schema.table or schema.* ("a.b"."c" for names with dots); a bare name means public.name.`,
  }];
}

/** What start will publish, and the replica identities it sets or cannot set. */
export function identityFindings(f: Pick<SourceDatabaseFacts, 'database' | 'identities' | 'publication'>): Finding[] {
  const plans = f.identities;
  const kept = plans.filter((p) => p.action === 'keep');
  const planned = plans.filter((p) => p.action === 'use-index' || p.action === 'full');
  const cannot = plans.filter((p) => p.action === 'cannot');
  const published = f.publication.tables.length;
  const carriedLeaves = plans.length - cannot.length;
  const notCarried = f.publication.notCarried.length;
  const out: Finding[] = [{
    id: 'tables', severity: published ? 'ok' : 'warn', side: 'source', database: f.database,
    title: (published
      ? `${published} ${plural(published, 'table')} to replicate (${kept.length} of ${carriedLeaves} tables and partitions with a usable replica identity already)`
      : 'no tables to replicate in this database') +
      (notCarried ? `; ${notCarried} more not replicated: pgshift switchover copies ${notCarried === 1 ? 'it' : 'them'} while writes are paused (listed below)` : ''),
    objects: [],
  }];
  if (planned.length) {
    out.push({
      id: 'no-primary-key', severity: 'warn', side: 'source', database: f.database,
      title: `${planned.length} ${plural(planned.length, 'table')} without a primary key: pgshift start sets the replica identity shown`,
      objects: planned.map((p) => `${tableKey(p.table)}: ${p.action === 'use-index' ? `USING INDEX ${p.index}` : 'FULL'}`),
      fix: 'Nothing to do (pgshift sets these on the source). A primary key is better: REPLICA IDENTITY FULL matches every UPDATE/DELETE on all columns, slow on large tables.',
    });
  }
  if (cannot.length) {
    out.push({
      id: 'replica-identity-impossible', severity: 'warn', side: 'source', database: f.database,
      // sql-lint: safe (a message, not SQL)
      title: `${cannot.length} ${plural(cannot.length, 'table')} without a primary key or unique NOT NULL index, with a column type that has no equality operator: UPDATE and DELETE cannot be replicated, pgshift copies ${cannot.length === 1 ? 'it' : 'them'} at switchover`,
      objects: cannot.map((p) => `${tableKey(p.table)}: ${/(columns? .*) ha(?:s|ve) no equality/.exec(p.reason)?.[1] ?? p.reason}`),
      fix: 'Add a primary key (or a unique index on NOT NULL columns) to replicate these tables continuously; otherwise writes to them must stop before switchover copies them.',
    });
  }
  return out;
}

/** A non-superuser source role must be allowed to CREATE in the database and own the tables it publishes. */
export function databasePrivilegeFindings(f: Pick<SourceDatabaseFacts, 'database' | 'notOwned' | 'catalog' | 'role'>): Finding[] {
  const notOwned = f.notOwned;
  if (notOwned === null || (notOwned.length === 0 && f.catalog.can_create)) return [];
  return [{
    id: 'privileges.database', severity: 'fail', side: 'source', database: f.database,
    title: [
      // sql-lint: safe (a message, not SQL)
      !f.catalog.can_create ? `role ${f.role} may not CREATE in this database (CREATE PUBLICATION needs it)` : '',
      notOwned.length ? `role ${f.role} does not own ${notOwned.length} ${plural(notOwned.length, 'table')} (a publication needs the owner)` : '',
    ].filter(Boolean).join('; '),
    objects: notOwned.map((t) => tableKey(t)),
    fix: `Connect as a superuser, or GRANT CREATE ON DATABASE ${quoteIdent(f.database)} TO ${quoteIdent(f.role)} and make it (a member of) the owner of these tables.`,
  }];
}

/** Large objects, unlogged tables, materialized views, leaf-by-leaf partitions: what replication does not carry as it is. */
export function notReplicatedFindings(f: Pick<SourceDatabaseFacts, 'database' | 'catalog' | 'all' | 'exclude' | 'publishViaPartitionRoot' | 'sourceMajor'>): Finding[] {
  const out: Finding[] = [];
  const user = f.all.filter((t) => !t.extension && !f.exclude.some((p) => matchesPattern(t, p)));
  const largeObjects = Number(f.catalog.large_objects);
  if (largeObjects > 0) {
    const cols = f.catalog.lo_columns;
    const them = largeObjects === 1 ? 'it' : 'them';
    out.push({
      id: 'large-objects', severity: 'warn', side: 'source', database: f.database,
      title: `${largeObjects} large object${largeObjects === 1 ? '' : 's'}: not carried by logical replication; pgshift copies ${them} at switchover, with ${largeObjects === 1 ? 'its' : 'their'} OIDs (longer pause); ` +
        (cols.length
          ? `${cols.length} column${cols.length === 1 ? '' : 's'} of type oid or lo can refer to ${them} (listed; their values replicate as they are)`
          : 'no column of type oid or lo refers to them (unreferenced, or referred to some other way)'),
      objects: cols,
      fix: 'Nothing to do; to shorten the pause, move large objects into bytea columns.',
    });
  }
  const unlogged = user.filter((t) => t.persistence === 'u');
  if (unlogged.length) {
    out.push({
      id: 'unlogged-tables', severity: 'warn', side: 'source', database: f.database,
      title: `${unlogged.length} unlogged table${unlogged.length === 1 ? '' : 's'}: not replicated (their changes are not in the WAL); pgshift switchover copies ${unlogged.length === 1 ? 'it' : 'them'} while writes are paused`,
      objects: unlogged.map(tableKey),
      fix: 'Nothing to do; a large one lengthens the pause. To replicate one continuously instead: ALTER TABLE ... SET LOGGED on the source before pgshift start (it rewrites the table, and its writes are WAL-logged from then on).',
    });
  }
  const views = f.catalog.materialized_views;
  if (views.length) {
    out.push({
      id: 'materialized-views', severity: 'warn', side: 'source', database: f.database,
      title: `${views.length} materialized view${views.length === 1 ? '' : 's'}: not replicated; the switchover populates ${views.length === 1 ? 'it' : 'them'} on the target before it pauses writes and refreshes ${views.length === 1 ? 'it' : 'them'} after`,
      objects: views.map(tableKey),
      fix: 'Nothing to do; a large view makes the switchover take longer (not the write pause); a unique index on it lets the refresh after the switchover run CONCURRENTLY, without blocking readers.',
    });
  }
  const partitioned = user.filter((t) => t.relkind === 'p');
  if (partitioned.length && !f.publishViaPartitionRoot) {
    out.push({
      id: 'partitioned-tables', severity: 'warn', side: 'source', database: f.database,
      title: `${partitioned.length} partitioned table${partitioned.length === 1 ? '' : 's'} on PostgreSQL ${f.sourceMajor}: each leaf partition is published on its own (publish_via_partition_root needs 13)`,
      objects: partitioned.map(tableKey),
      fix: 'Keep the same partitions on the target (pgshift schema does); re-partitioning during the migration is not possible from this version.',
    });
  }
  return out;
}

export function notValidFindings(f: Pick<SourceDatabaseFacts, 'database' | 'notValid'>): Finding[] {
  const notValid = f.notValid;
  if (notValid.length === 0) return [];
  const them = notValid.length === 1 ? 'it' : 'them';
  return [{
    id: 'not-valid-checks', severity: 'warn', side: 'source', database: f.database,
    title: `${notValid.length} NOT VALID CHECK constraint${notValid.length === 1 ? '' : 's'}: rows on the source may violate ${them}, so the initial copy would fail on the target; pgshift schema leaves ${them} out and pgshift wait adds ${them} (NOT VALID) once every table is copied; switchover waits for that`,
    objects: notValid.map(checkLabel),
    fix: 'Nothing to do. With a target schema you provisioned (schema --existing), create them on the target only after the initial copy. To make them valid: fix the violating rows on the source, then ALTER TABLE ... VALIDATE CONSTRAINT.',
  }];
}

export function extensionFindings(f: Pick<SourceDatabaseFacts, 'database' | 'catalog' | 'targetExtensions'>): Finding[] {
  const installed = f.catalog.extensions;
  const missing = missingExtensions(installed.map((e) => e.name), f.targetExtensions);
  if (missing.length) {
    return [{
      id: 'extensions', severity: 'fail', side: 'target', database: f.database,
      title: `${missing.length} extension${missing.length === 1 ? '' : 's'} installed on the source ${missing.length === 1 ? 'is' : 'are'} not available on the target`,
      objects: missing.map((n) => `${n} ${installed.find((e) => e.name === n)?.version ?? ''}`.trim()),
      fix: 'Install the extension packages on the target server (they must appear in pg_available_extensions), or drop the extensions on the source if unused.',
    }];
  }
  if (installed.length === 0) return [];
  return [{ id: 'extensions', severity: 'ok', side: 'target', database: f.database, title: `all ${installed.length} source extension${installed.length === 1 ? ' is' : 's are'} available on the target`, objects: [] }];
}
