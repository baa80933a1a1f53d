// check: a readiness report for both clusters before anything is created.
// Each finding has a severity (ok / warn / fail), the objects concerned and
// the fix. A fail blocks the migration; a warn is something the user should
// know (copied at switchover, not replicated, slower).
//
// Needs: the config; a connection to each cluster (verified by
// system_identifier like every pgshift connection), and to each database.
// Strictly read-only on both clusters: it creates, alters and drops nothing,
// so it can run any number of times, at any point of a migration.

import { databaseConfig, selectDatabases, type Config } from '../config/config.js';
import { PgshiftError } from '../errors.js';
import type { ClusterOutcome, Emit, Outcome } from '../events.js';
import { connect, type Db, type Side } from '../pg/connect.js';
import { listTables, replicatedTables, tableKey, tablesWithRows } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { actsAsSuperuser, PROVIDER_ADMIN_ROLES, ROLES_OF_INTEREST } from '../pg/provider.js';
import { dumpTools, type FoundTool } from '../pg/tools.js';
import {
  featuresOf, isSupportedSource, isSupportedTarget, SUPPORTED_SOURCE_MAJORS, SUPPORTED_TARGET_MAJORS, type ServerVersion,
} from '../pg/version.js';
import { switchoverPrivilegeGaps, type PrivilegeGap } from '../switchover/privileges.js';
import { planReverse, reverseRefusal } from '../switchover/reverse.js';
import { formatBytes } from '../util/duration.js';
import { capacityRows, type CapacityRow, type SideUsage } from '../checks/capacity.js';
import { NAME_PREFIX, namesFor } from '../replication/names.js';
import { planReplicaIdentities } from '../replication/replica-identity.js';
import { restoreProblems } from '../checks/restore.js';
import { notValidChecks } from '../checks/deferred-constraints.js';
import { legacyProblems } from '../checks/legacy-objects.js';
import { invalidationAdvice, invalidationText } from '../checks/replication-health.js';
import { tablesNotOwned, versionProblems } from '../checks/preflight.js';
import { planPublication } from '../replication/publication.js';
import { sourceDatabaseFindings, type Finding, type SourceDatabaseCatalog, type SourceDatabaseFacts } from '../checks/source-database.js';

export { missingExtensions, type Finding } from '../checks/source-database.js';

export interface ClusterSummary {
  version: string;
  major: number;
  systemIdentifier: string;
  role: string;
}

export interface CheckReport {
  /** No finding is a fail. */
  ok: boolean;
  findings: Finding[];
  source: ClusterSummary;
  target: ClusterSummary;
  databases: string[];
  capacity: CapacityRow[];
}

export interface CheckOptions {
  emit?: Emit;
}


const SETTINGS = [
  'wal_level', 'max_replication_slots', 'max_wal_senders', 'max_worker_processes',
  'max_logical_replication_workers', 'max_sync_workers_per_subscription', 'max_active_replication_origins',
];

type RoleFacts = {
  rolname: string;
  rolsuper: boolean;
  rolreplication: boolean;
  rolcreaterole: boolean;
  rolcreatedb: boolean;
  member_of: string[];
};

interface ClusterFacts {
  db: Db;
  side: Side;
  version: ServerVersion;
  role: RoleFacts;
  walLevel: string;
  /** The SETTINGS as the server shows them, for the journal. */
  settings: Record<string, string>;
  usage: SideUsage;
  databases: Map<string, number>;
  slots: SlotFacts[];
  /** "<database oid>/<subscription name>" for every subscription in the cluster. */
  subscriptionNames: Set<string>;
}

type SlotFacts = {
  slot_name: string;
  slot_type: string;
  plugin: string | null;
  database: string | null;
  active: boolean;
  temporary: boolean;
  retained_bytes: string | null;
  wal_status: string | null;
  invalidation_reason: string | null;
};

/** Open both cluster connections; if either fails, close the other and report the first failure. */
async function connectBoth(config: Config): Promise<[Db, Db]> {
  const [s, t] = await Promise.allSettled([
    connect('source', config.source, { applicationName: 'pgshift check' }),
    connect('target', config.target, { applicationName: 'pgshift check' }),
  ]);
  if (s.status === 'fulfilled' && t.status === 'fulfilled') return [s.value, t.value];
  if (s.status === 'fulfilled') await s.value.close();
  if (t.status === 'fulfilled') await t.value.close();
  // A wrong cluster (exit 3) matters more than the other side being down.
  const errors = [s, t].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
  const safety = errors.find((e) => e instanceof PgshiftError && e.exitCode === 3);
  throw safety ?? errors[0];
}

async function clusterFacts(db: Db): Promise<ClusterFacts> {
  const role = await db.one<RoleFacts>(sqlFile('check-role'), [ROLES_OF_INTEREST]);
  const act = await db.one<{ settings: Record<string, string> | null; wal_senders: number; bg_workers: number; launcher: boolean; subscriptions: number; enabled_subscriptions: number }>(
    sqlFile('check-activity'), [SETTINGS]);
  const settings: Record<string, number> = {};
  for (const [k, v] of Object.entries(act.settings ?? {})) if (/^-?\d+$/.test(v)) settings[k] = Number(v);
  const slots = await db.query<SlotFacts>(sqlFile('check-slots'));
  const dbs = await db.query<{ datname: string; oid: string }>(
    'SELECT datname, oid::int8 AS oid FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate');
  const subs = await db.query<{ subdbid: string; subname: string }>('SELECT subdbid::int8 AS subdbid, subname::text FROM pg_catalog.pg_subscription');
  return {
    db,
    side: db.side,
    version: db.version,
    role,
    walLevel: act.settings?.wal_level ?? 'unknown',
    settings: act.settings ?? {},
    usage: {
      major: db.version.major,
      settings,
      slots: slots.length,
      walSenders: act.wal_senders,
      bgWorkers: act.bg_workers,
      launcherRunning: act.launcher,
      subscriptions: act.subscriptions,
      enabledSubscriptions: act.enabled_subscriptions,
    },
    databases: new Map(dbs.map((d) => [d.datname, Number(d.oid)])),
    slots,
    subscriptionNames: new Set(subs.map((r) => `${r.subdbid}/${r.subname}`)),
  };
}

function versionFinding(s: ServerVersion, t: ServerVersion): Finding {
  const problems = versionProblems(s, t);
  const direction = `PostgreSQL ${s.text} -> ${t.text}`;
  if (problems.length) {
    return { id: 'version', severity: 'fail', side: 'both', title: `${direction}: ${problems.join('; ')}`, objects: [], fix: `Use a source of PostgreSQL ${SUPPORTED_SOURCE_MAJORS.min}-${SUPPORTED_SOURCE_MAJORS.max} and a target of ${SUPPORTED_TARGET_MAJORS.min}-${SUPPORTED_TARGET_MAJORS.max}, the target at least the source's major version.` };
  }
  const kind = t.major === s.major ? 'same major version (a move)' : 'major version upgrade';
  return { id: 'version', severity: 'ok', side: 'both', title: `${direction}: ${kind}`, objects: [] };
}

/** PostgreSQL 10 neither publishes TRUNCATE nor, as the reverse subscriber, applies it. */
function truncateFindings(s: ServerVersion, reverse: boolean): Finding[] {
  if (featuresOf(s).replicatesTruncate) return [];
  return [{
    id: 'truncate', severity: 'warn', side: 'source',
    // sql-lint: safe (a message, not SQL)
    title: `PostgreSQL ${s.major} does not replicate TRUNCATE: a table truncated on the source during the migration keeps its rows on the target${reverse ? ', and after a switchover a TRUNCATE on the target does not reach the source by the reverse replication' : ''}`,
    objects: [],
    fix: 'Use DELETE instead of TRUNCATE until the migration is finished; pgshift verify finds a table that differs.',
  }];
}

function walLevelFindings(s: ClusterFacts, t: ClusterFacts, reverse: boolean): Finding[] {
  const out: Finding[] = [];
  if (s.walLevel === 'logical') out.push({ id: 'wal_level', severity: 'ok', side: 'source', title: 'source wal_level is logical', objects: [] });
  else {
    out.push({
      id: 'wal_level', severity: 'fail', side: 'source', title: `source wal_level is ${s.walLevel}; logical replication needs logical`, objects: [],
      fix: 'ALTER SYSTEM SET wal_level = logical; then restart the source (on RDS/Aurora set rds.logical_replication = 1 in the parameter group; on Cloud SQL the cloudsql.logical_decoding flag; on Azure wal_level = logical in server parameters).',
    });
  }
  if (reverse) {
    if (t.walLevel === 'logical') out.push({ id: 'wal_level', severity: 'ok', side: 'target', title: 'target wal_level is logical (reverse replication for rollback)', objects: [] });
    else {
      out.push({
        id: 'wal_level', severity: 'warn', side: 'target', title: `target wal_level is ${t.walLevel}: reverse replication (rollback after switchover) needs logical`, objects: [],
        fix: 'ALTER SYSTEM SET wal_level = logical on the target and restart it before switchover, or set switchover.reverse: false (no rollback path).',
      });
    }
  }
  return out;
}

function capacityFinding(r: CapacityRow): Finding {
  const total = r.inUse + r.recommended;
  const needed = r.inUse + (r.severity === 'fail' ? r.required : r.recommended);
  const pool = r.setting === 'max_replication_slots' && r.resource === 'origins' ? ' (as the limit on replication origins)' : '';
  const title = `${r.setting}${pool} = ${r.have}: ${r.inUse} in use + ${r.recommended} for this migration (${r.why})` +
    (r.severity === 'ok' ? '' : r.severity === 'fail' ? `; needs at least ${needed}` : `; ${total} recommended`);
  const finding: Finding = { id: `capacity.${r.side}.${r.setting}${pool ? '.origins' : ''}`, severity: r.severity, side: r.side, title, objects: [] };
  // sql-lint: safe (advice for people; the setting is one of SETTINGS, the value a number)
  if (r.severity !== 'ok') finding.fix = `ALTER SYSTEM SET ${r.setting} = ${Math.max(total, needed)}; then restart the ${r.side} server.`;
  return finding;
}

function privilegeFindings(s: ClusterFacts, t: ClusterFacts): Finding[] {
  const out: Finding[] = [];
  const sp = PROVIDER_ADMIN_ROLES.filter((r) => s.role.member_of.includes(r));
  if (s.role.rolsuper) out.push({ id: 'privileges', severity: 'ok', side: 'source', title: `source role ${s.role.rolname} is a superuser`, objects: [] });
  else if (sp.length) out.push({ id: 'privileges', severity: 'ok', side: 'source', title: `source role ${s.role.rolname} has the provider admin role ${sp.join(', ')}`, objects: [] });
  else if (s.role.rolreplication || s.role.member_of.includes('rds_replication')) {
    out.push({ id: 'privileges', severity: 'ok', side: 'source', title: `source role ${s.role.rolname} has REPLICATION (and must own the replicated tables; checked per database)`, objects: [] });
  } else {
    out.push({
      id: 'privileges', severity: 'fail', side: 'source', title: `source role ${s.role.rolname} is not a superuser and has no REPLICATION attribute: it cannot create replication slots`, objects: [s.role.rolname],
      fix: `Connect as a superuser (or the provider's admin role, e.g. rds_superuser), or: ALTER ROLE ${quoteIdent(s.role.rolname)} REPLICATION; and make it the owner of the tables to replicate.`,
    });
  }
  const tp = PROVIDER_ADMIN_ROLES.filter((r) => t.role.member_of.includes(r));
  const canSubscribe = featuresOf(t.version).predefinedCreateSubscription && t.role.member_of.includes('pg_create_subscription');
  if (t.role.rolsuper) out.push({ id: 'privileges', severity: 'ok', side: 'target', title: `target role ${t.role.rolname} is a superuser`, objects: [] });
  else if (tp.length) out.push({ id: 'privileges', severity: 'ok', side: 'target', title: `target role ${t.role.rolname} has the provider admin role ${tp.join(', ')}`, objects: [] });
  else if (canSubscribe) out.push({ id: 'privileges', severity: 'ok', side: 'target', title: `target role ${t.role.rolname} may create subscriptions (pg_create_subscription)`, objects: [] });
  else {
    const how = featuresOf(t.version).predefinedCreateSubscription ? 'a superuser or a member of pg_create_subscription' : `a superuser on PostgreSQL ${t.version.major}`;
    out.push({
      id: 'privileges', severity: 'fail', side: 'target', title: `target role ${t.role.rolname} cannot create subscriptions (needs ${how})`, objects: [t.role.rolname],
      fix: featuresOf(t.version).predefinedCreateSubscription
        ? `Connect as a superuser (or the provider's admin role), or: GRANT pg_create_subscription TO ${quoteIdent(t.role.rolname)}; and give it CREATE on the target database.`
        : 'Connect as a superuser (or the provider\'s admin role, e.g. rds_superuser).',
    });
  }
  if (!t.role.rolsuper && !tp.length && !t.role.rolcreaterole) {
    out.push({
      id: 'privileges.roles', severity: 'warn', side: 'target', title: `target role ${t.role.rolname} has no CREATEROLE: pgshift roles cannot copy roles`, objects: [t.role.rolname],
      fix: 'Create the roles on the target yourself, or connect as a role with CREATEROLE.',
    });
  }
  return out;
}

/** A database name as a shell argument in a suggested pgshift command. */
function shellArg(n: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(n) ? n : `'${n.replace(/'/g, "'\\''")}'`;
}

function slotFindings(c: ClusterFacts, configured: Set<string>): Finding[] {
  const configuredSlots = new Set([...configured].flatMap((d) => [namesFor(d).slot, namesFor(d).reverseSlot]));
  const out: Finding[] = [];
  const byDb = new Map<string, string[]>();
  const others: string[] = [];
  for (const sl of c.slots) {
    if (sl.temporary) continue;
    const retained = sl.retained_bytes === null ? undefined : Number(sl.retained_bytes);
    const label = `${sl.slot_name} (${sl.slot_type}${sl.database ? `, database ${sl.database}` : ''}, ${sl.active ? 'active' : 'inactive'}${retained !== undefined ? `, retains ${formatBytes(retained)} of WAL` : ''})`;
    if (sl.slot_name.startsWith(NAME_PREFIX)) {
      // A pgshift slot being streamed from is a migration in progress, not a leftover.
      if (sl.active) continue;
      // A configured database's own slot that is lost is a fail of its own (slotHealthFindings).
      if (sl.wal_status === 'lost' && configuredSlots.has(sl.slot_name)) continue;
      const db = sl.database ?? '';
      byDb.set(db, [...(byDb.get(db) ?? []), label]);
    } else if (!sl.active && (retained ?? 0) > 0) {
      others.push(label);
    }
  }
  for (const [db, labels] of byDb) {
    out.push({
      id: 'slots.pgshift', severity: 'warn', side: c.side, database: configured.has(db) ? db : undefined,
      title: `inactive pgshift slot${labels.length === 1 ? '' : 's'} on the ${c.side}${db ? ` for database ${db}` : ''}: WAL is kept until ${labels.length === 1 ? 'it is' : 'they are'} used or dropped`,
      objects: labels,
      fix: `If no migration of ${db || 'that database'} is in progress: pgshift cleanup ${db ? shellArg(db) : 'DB'}`,
    });
  }
  if (others.length) {
    out.push({
      id: 'slots.inactive', severity: 'warn', side: c.side,
      title: `inactive replication slot${others.length === 1 ? '' : 's'} on the ${c.side} holding WAL back (not pgshift's)`,
      objects: others,
      fix: 'If unused, drop with SELECT pg_drop_replication_slot(\'NAME\'); they keep WAL on disk and count against max_replication_slots.',
    });
  }
  return out;
}

/**
 * The health of the slots pgshift made for this database, if they exist: the
 * forward slot on the source, the reverse slot (after a switchover) on the
 * target. A lost or invalidated slot cannot stream again (fail); an
 * unreserved one is about to be lost (warn).
 */
function slotHealthFindings(src: ClusterFacts, tgt: ClusterFacts, database: string): Finding[] {
  const out: Finding[] = [];
  const names = namesFor(database);
  for (const [c, slotName, what] of [[src, names.slot, 'replication'], [tgt, names.reverseSlot, 'reverse replication (rollback)']] as const) {
    const sl = c.slots.find((x) => x.slot_name === slotName && x.database === database);
    if (!sl) continue;
    const retained = sl.retained_bytes === null ? '' : `, retains ${formatBytes(Number(sl.retained_bytes))} of WAL`;
    const label = `${sl.slot_name} (wal_status ${sl.wal_status ?? 'unknown'}${sl.invalidation_reason ? `, invalidation_reason ${sl.invalidation_reason}` : ''}${retained})`;
    if (sl.wal_status === 'lost' || sl.invalidation_reason) {
      const why = invalidationText({ walStatus: sl.wal_status, conflicting: null, invalidationReason: sl.invalidation_reason, safeWalSize: null });
      out.push({
        id: 'slot.lost', severity: 'fail', side: c.side, database,
        title: `pgshift's ${what} slot on the ${c.side} is lost: ${why}; that replication cannot continue and switchover is refused`,
        objects: [label],
        fix: `pgshift cleanup ${shellArg(database)}, then pgshift start ${shellArg(database)} (copies again); ${invalidationAdvice(sl.invalidation_reason, c.side)} so it does not happen again.`,
      });
    } else if (sl.wal_status === 'unreserved') {
      out.push({
        id: 'slot.unreserved', severity: 'warn', side: c.side, database,
        title: `pgshift's ${what} slot on the ${c.side} is about to lose WAL it needs (wal_status unreserved): the next checkpoint may invalidate it`,
        objects: [label],
        fix: `Let the subscriber catch up now (is it running? pgshift status ${shellArg(database)}), or raise max_slot_wal_keep_size on the ${c.side} (a reload is enough).`,
      });
    }
  }
  return out;
}

/**
 * What the switchover, and the rollback it makes possible, will need of two
 * non-superuser roles (fence, fence record, reverse replication): the same
 * test their preflights refuse on, made now, so a migration does not copy for
 * hours and then stop at the last step. A database not on the target yet
 * counts as owned by the role pgshift schema will give it.
 */
async function switchoverPrivilegeFindings(ctx: DatabaseContext, database: string): Promise<Finding[]> {
  const { config, src, tgt } = ctx;
  if (actsAsSuperuser(src.role) && actsAsSuperuser(tgt.role)) return [];
  const method = config.switchover.pause;
  const owner = await src.db.one<{ owner: string }>(sqlFile('schema-database'), [database]);
  const source = { side: 'source' as const, admin: src.db };
  const target = { side: 'target' as const, admin: tgt.db, ownerIfMissing: owner.owner };
  const runs: { id: string; what: string; gaps: PrivilegeGap[] }[] = [
    { id: 'privileges.switchover', what: `switchover (pause method ${method})`, gaps: await switchoverPrivilegeGaps({ database, method, fenced: source, other: target, reverse: config.switchover.reverse }) },
  ];
  if (config.switchover.reverse) {
    runs.push({ id: 'privileges.rollback', what: `rollback (pause method ${method})`, gaps: await switchoverPrivilegeGaps({ database, method, fenced: target, other: source, reverse: false }) });
  }
  return runs.map(({ id, what, gaps }): Finding => (gaps.length
    ? {
      id, severity: 'fail', side: 'both', database,
      title: `${what} would be refused: ${gaps.map((g) => g.problem).join('; ')}`,
      objects: [],
      fix: `${gaps.map((g) => g.fix).join('; ')}. Without them the ${what.split(' ')[0]} stops at its preflight, after all the copying.`,
    }
    : { id, severity: 'ok', side: 'both', database, title: `the roles have what a ${what} needs`, objects: [] }));
}

/** Which pg_dump, pg_restore and psql the schema copy will run, and why (dumpTools). */
async function toolFindings(sourceMajor: number, targetMajor: number): Promise<Finding[]> {
  try {
    const t = await dumpTools(sourceMajor, targetMajor);
    const tool = (f: FoundTool): string => `${f.path} (${f.major}.${f.minor})`;
    return [{
      id: 'tools', severity: 'ok', side: 'both',
      title: `pg_dump ${t.pgDump.major}.${t.pgDump.minor} copies the schema: ${t.reason}`,
      objects: [`pg_dump ${tool(t.pgDump)}`, `pg_restore ${tool(t.pgRestore)}`, `psql ${tool(t.psql)}`],
    }];
  } catch (e) {
    if (!(e instanceof PgshiftError)) throw e;
    return [{ id: 'tools', severity: 'fail', side: 'both', title: e.message, objects: [], fix: e.hint }];
  }
}

interface DatabaseContext {
  config: Config;
  src: ClusterFacts;
  tgt: ClusterFacts;
  /** Target extensions available to CREATE EXTENSION. */
  targetExtensions: Set<string>;
}

async function checkSourceDatabase(ctx: DatabaseContext, database: string): Promise<Finding[]> {
  return sourceDatabaseFindings(await readSourceDatabase(ctx, database));
}

/** Everything the source database rules need, read in one connection to it. */
async function readSourceDatabase(ctx: DatabaseContext, database: string): Promise<SourceDatabaseFacts> {
  const { config, src } = ctx;
  const exclude = config.databases.get(database)?.exclude ?? [];
  const db = await connect('source', config.source, { database, applicationName: 'pgshift check' });
  try {
    const feats = featuresOf(src.version);
    const all = await listTables(db);
    const tables = replicatedTables(all, exclude, feats.publishViaPartitionRoot);
    const catalog = await db.one<SourceDatabaseCatalog>(sqlFile('check-database'));
    const identities = await planReplicaIdentities(db, tables);
    // What start will publish, as start plans it: without the tables replication cannot carry.
    const publication = await planPublication(db, databaseConfig(config, database));
    // Privileges on this database matter only for a non-superuser source role.
    const notOwned = actsAsSuperuser(src.role) ? null : await tablesNotOwned(db, tables);
    const notValid = await notValidChecks(db);
    const restore = await restoreProblems(db, ctx.tgt.db);
    const legacy = await legacyProblems(db, ctx.tgt.db);
    return {
      database, exclude, sourceMajor: src.version.major, publishViaPartitionRoot: feats.publishViaPartitionRoot, role: src.role.rolname,
      all, catalog, identities, publication, notOwned, notValid, restore, legacy, targetExtensions: ctx.targetExtensions,
    };
  } finally {
    await db.close();
  }
}

async function checkTargetDatabase(ctx: DatabaseContext, database: string): Promise<Finding> {
  const { config, tgt } = ctx;
  const sub = namesFor(database).subscription;
  const oid = tgt.databases.get(database);
  if (oid === undefined) {
    return { id: 'target-database', severity: 'ok', side: 'target', database, title: `target database ${database} does not exist yet (pgshift schema creates it)`, objects: [] };
  }
  const subs = await tgt.db.query<{ subname: string; subenabled: boolean }>(
    'SELECT subname::text, subenabled FROM pg_catalog.pg_subscription WHERE subdbid = $1 AND subname = $2', [oid, sub]);
  if (subs.length) {
    return { id: 'target-database', severity: 'ok', side: 'target', database, title: `target database ${database} is the one pgshift is replicating into (subscription ${sub}${subs[0]!.subenabled ? '' : ', disabled'})`, objects: [] };
  }
  const db = await connect('target', config.target, { database, applicationName: 'pgshift check' });
  try {
    const tables = (await listTables(db)).filter((t) => !t.extension);
    if (tables.length === 0) {
      return { id: 'target-database', severity: 'ok', side: 'target', database, title: `target database ${database} exists and holds no tables`, objects: [] };
    }
    const withRows = await tablesWithRows(db, tables.filter((t) => t.relkind === 'r'), { only: true, limit: 20, unreadable: 'report' });
    if (withRows.length) {
      return {
        id: 'target-database', severity: 'fail', side: 'target', database,
        title: `target database ${database} already holds data (${tables.length} table${tables.length === 1 ? '' : 's'}, ${withRows.length >= 20 ? 'at least 20' : withRows.length} with rows): pgshift will not replicate into it`,
        objects: withRows,
        // sql-lint: safe (a message, not SQL)
        fix: `Point target.conn at another server, or drop the target database if its data is not needed (DROP DATABASE ${quoteIdent(database)} on the target).`,
      };
    }
    return {
      id: 'target-database', severity: 'warn', side: 'target', database,
      title: `target database ${database} already holds ${tables.length} empty table${tables.length === 1 ? '' : 's'}`,
      objects: tables.map(tableKey),
      fix: `If you provisioned this schema yourself: pgshift schema ${shellArg(database)} --existing checks that it is compatible. Otherwise drop the target database and let pgshift copy the schema.`,
    };
  } finally {
    await db.close();
  }
}

/**
 * A target provisioned with columns the source lacks (schema --existing):
 * what reverse replication, the rollback path, can carry, said before the
 * switchover (src/switchover/reverse.ts planReverse), so the choice of
 * --no-reverse is made now and not during it.
 */
async function reverseFindings(ctx: DatabaseContext, database: string): Promise<Finding[]> {
  const { config, tgt } = ctx;
  if (!config.switchover.reverse || !tgt.databases.has(database)) return [];
  const [source, target] = await Promise.all([
    connect('source', config.source, { database, applicationName: 'pgshift check' }),
    connect('target', config.target, { database, applicationName: 'pgshift check' }),
  ]);
  try {
    const plan = await planReverse(config, database, source, target);
    const out: Finding[] = [];
    const refusal = reverseRefusal(plan);
    if (refusal) {
      out.push({
        id: 'reverse-columns', severity: 'warn', side: 'target', database,
        title: `${plan.cannotNarrow.length} table(s) on the target have columns the source lacks, which reverse replication (the rollback path) cannot leave out: the switchover refuses reverse replication`,
        objects: plan.cannotNarrow.map((c) => `${c.table} (${c.columns.join(', ')}): ${c.reason}`),
        fix: refusal.hint.replace(/ Nothing was changed\.$/, ''),
      });
    }
    if (plan.narrowedOut.length) {
      out.push({
        id: 'reverse-columns', severity: 'warn', side: 'target', database,
        title: `${plan.narrowedOut.length} table(s) on the target have columns the source lacks and a replica identity that needs them: reverse replication leaves them out, a rollback copies them while writes are paused`,
        objects: plan.narrowedOut.map(tableKey),
        fix: 'Nothing to do; a primary key on them (on both sides) lets reverse replication carry them.',
      });
    }
    return out;
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}

/**
 * Check both clusters and the given databases (all configured ones when
 * empty). Throws on a connection problem (ConnectionError, exit 1) or a
 * wrong cluster (SafetyError, exit 3); everything else is a finding.
 */
export async function runCheck(config: Config, databases: string[], opts: CheckOptions = {}): Promise<CheckReport> {
  const emit = opts.emit ?? (() => undefined);
  const dbs = selectDatabases(config, databases).map((d) => d.name);
  const started = Date.now();
  emit({ type: 'step', step: 'check', state: 'start', message: 'connecting to both clusters' });
  const [srcDb, tgtDb] = await connectBoth(config);
  try {
    const [src, tgt] = await Promise.all([clusterFacts(srcDb), clusterFacts(tgtDb)]);
    const summary = (c: ClusterFacts): ClusterSummary => ({ version: c.version.text, major: c.version.major, systemIdentifier: c.db.systemIdentifier, role: c.role.rolname });
    const findings: Finding[] = [];
    const version = versionFinding(src.version, tgt.version);
    findings.push(version);
    const supported = isSupportedSource(src.version.major) && isSupportedTarget(tgt.version.major);
    let capacity: CapacityRow[] = [];
    if (supported) {
      const reverse = config.switchover.reverse;
      findings.push(...walLevelFindings(src, tgt, reverse));
      findings.push(...truncateFindings(src.version, reverse));
      findings.push(...privilegeFindings(src, tgt));
      findings.push(...await toolFindings(src.version.major, tgt.version.major));

      const targetExtensions = new Set((await tgtDb.query<{ name: string }>('SELECT name::text FROM pg_catalog.pg_available_extensions')).map((r) => r.name));
      const ctx: DatabaseContext = { config, src, tgt, targetExtensions };
      if (dbs.length === 0) {
        findings.push({ id: 'databases', severity: 'warn', side: 'source', title: 'no databases in the config', objects: [], fix: 'List the databases to migrate under "databases:" (pgshift init fills them in).' });
      }
      for (const database of dbs) {
        emit({ type: 'step', step: `check ${database}`, state: 'start' });
        const t0 = Date.now();
        if (!src.databases.has(database)) {
          findings.push({
            id: 'database-exists', severity: 'fail', side: 'source', database,
            title: `database ${database} does not exist on the source (or does not accept connections)`, objects: [],
            fix: `Check the name under "databases:" in ${config.file}; the source has: ${[...src.databases.keys()].filter((d) => d !== 'postgres').join(', ') || '(no user databases)'}`,
          });
          emit({ type: 'step', step: `check ${database}`, state: 'fail', message: 'not on the source' });
          continue;
        }
        findings.push(...await checkSourceDatabase(ctx, database));
        findings.push(await checkTargetDatabase(ctx, database));
        findings.push(...await switchoverPrivilegeFindings(ctx, database));
        findings.push(...await reverseFindings(ctx, database));
        findings.push(...slotHealthFindings(src, tgt, database));
        emit({ type: 'step', step: `check ${database}`, state: 'done', ms: Date.now() - t0 });
      }

      // Capacity counts every configured database: their replication runs side by side.
      const configured = [...config.databases.keys()];
      const replicating = configured.filter((d) => subscriptionExists(tgt, d));
      const pending = configured.filter((d) => src.databases.has(d) && !replicating.includes(d)).length;
      capacity = capacityRows({
        pending,
        reverse: reverse ? configured.filter((d) => src.databases.has(d)).length : 0,
        syncWorkers: tgt.usage.settings.max_sync_workers_per_subscription ?? 2,
        source: src.usage,
        target: tgt.usage,
      });
      findings.push(...capacity.map(capacityFinding));

      const configuredSet = new Set(configured);
      findings.push(...slotFindings(src, configuredSet), ...slotFindings(tgt, configuredSet));
    }
    const ordered = orderFindings(findings, dbs);
    const report: CheckReport = {
      ok: !ordered.some((f) => f.severity === 'fail'),
      findings: ordered,
      source: summary(src),
      target: summary(tgt),
      databases: dbs,
      capacity,
    };
    emit({ type: 'result', data: checkOutcome(report, src, tgt) });
    emit({ type: 'step', step: 'check', state: report.ok ? 'done' : 'fail', ms: Date.now() - started });
    return report;
  } finally {
    await Promise.all([srcDb.close(), tgtDb.close()]);
  }
}

/** The report as the journal keeps it: long object lists cut to their first 20. */
function checkOutcome(report: CheckReport, src: ClusterFacts, tgt: ClusterFacts): Outcome & { kind: 'check' } {
  const cluster = (c: ClusterSummary, f: ClusterFacts): ClusterOutcome => ({ version: c.version, systemIdentifier: c.systemIdentifier, role: c.role, settings: f.settings });
  return {
    kind: 'check',
    ok: report.ok,
    databases: report.databases,
    source: cluster(report.source, src),
    target: cluster(report.target, tgt),
    findings: report.findings.map((f) => ({
      id: f.id, severity: f.severity, side: f.side, ...(f.database !== undefined ? { database: f.database } : {}),
      title: f.title, ...(f.fix ? { fix: f.fix } : {}), objects: f.objects.slice(0, 20), objectCount: f.objects.length,
    })),
  };
}

/** Whether pgshift's subscription for a database exists on the target (from the cluster-wide catalog). */
function subscriptionExists(tgt: ClusterFacts, database: string): boolean {
  return tgt.subscriptionNames.has(`${tgt.databases.get(database)}/${namesFor(database).subscription}`);
}

/** Cluster findings first, then each database in the order asked; within a group, as produced. */
export function orderFindings(findings: Finding[], databases: string[]): Finding[] {
  const rank = (f: Finding): number => (f.database === undefined ? -1 : databases.indexOf(f.database) === -1 ? databases.length : databases.indexOf(f.database));
  return findings.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map((x) => x.f);
}
