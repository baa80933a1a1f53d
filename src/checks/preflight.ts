// Refusals before any change. `start` (and `schema`, for the versions) run
// these on both clusters before they create or alter anything, so a
// migration that cannot work stops with an error saying what to fix, and
// leaves both clusters exactly as they were: a downgrade or an unsupported
// version, roles that could create the publication but not the subscription
// (which would leave a publication behind), a target that already holds rows
// the initial copy would collide with, or lacks a table to publish.
// Also the checks a switchover or rollback makes before it pauses writes
// (below): transactions too long for the pause's budget.
// Needs: verified connections to both sides. Read-only.

import type { Config } from '../config/config.js';
import { ProblemError, SafetyError } from '../errors.js';
import { problem, type Problem } from '../problems.js';
import { connect, type Db } from '../pg/connect.js';
import { tableKey, tablesWithRows } from '../pg/catalog.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import {
  featuresOf, isSupportedSource, isSupportedTarget, SUPPORTED_SOURCE_MAJORS, SUPPORTED_TARGET_MAJORS, type ServerVersion,
} from '../pg/version.js';
import { actsAsSuperuser, ROLES_OF_INTEREST } from '../pg/provider.js';
import { refuseLegacyObjects } from './legacy-objects.js';
import { formatDuration } from '../util/duration.js';

/** What is wrong with this pair of versions (check reports it, the steps refuse on it); empty when supported. */
export function versionProblems(source: ServerVersion, target: ServerVersion): string[] {
  const problems: string[] = [];
  if (!isSupportedSource(source.major)) problems.push(`source PostgreSQL ${source.major} is not supported (sources ${SUPPORTED_SOURCE_MAJORS.min}-${SUPPORTED_SOURCE_MAJORS.max})`);
  if (!isSupportedTarget(target.major)) problems.push(`target PostgreSQL ${target.major} is not supported (targets ${SUPPORTED_TARGET_MAJORS.min}-${SUPPORTED_TARGET_MAJORS.max})`);
  if (target.major < source.major) problems.push(`target major ${target.major} is older than source major ${source.major}: pgshift only moves to the same or a newer major version`);
  return problems;
}

/** Sources and targets pgshift supports, and only upgrades or moves within a major version. */
export function refuseUnsupportedVersions(source: ServerVersion, target: ServerVersion): void {
  const problems = versionProblems(source, target);
  if (problems.length) {
    // A refusal like the others (wrong cluster, non-empty target): exit 3.
    throw new SafetyError('unsupported_versions', `PostgreSQL ${source.major} -> ${target.major}: ${problems.join('; ')}`, {
      hint: `Use a source of PostgreSQL ${SUPPORTED_SOURCE_MAJORS.min}-${SUPPORTED_SOURCE_MAJORS.max} and a target of ${SUPPORTED_TARGET_MAJORS.min}-${SUPPORTED_TARGET_MAJORS.max}, the target at least the source's major version. Nothing was changed.`,
      details: { source: source.major, target: target.major },
    });
  }
}

/**
 * The versions check, and the objects of the source database the target's
 * version cannot restore (check-legacy.ts), for the steps that copy the
 * schema and hold only a source connection: asks the target's maintenance database.
 */
export async function refuseUnsupportedPair(config: Config, source: Db): Promise<void> {
  const target = await connect('target', config.target, { applicationName: 'pgshift preflight' });
  try {
    refuseUnsupportedVersions(source.version, target.version);
    await refuseLegacyObjects(source, target);
  } finally {
    await target.close();
  }
}

type RoleFacts = { rolname: string; rolsuper: boolean; rolreplication: boolean; member_of: string[] };

async function roleFacts(db: Db): Promise<RoleFacts & { can_create: boolean }> {
  const role = await db.one<RoleFacts>(sqlFile('check-role'), [ROLES_OF_INTEREST]);
  const { can_create } = await db.one<{ can_create: boolean }>("SELECT pg_catalog.has_database_privilege(current_database(), 'CREATE') AS can_create");
  return { ...role, can_create };
}

/** Of these tables, the ones the connecting role does not own (nor inherits the owner of): a publication needs the owner. */
export async function tablesNotOwned(db: Db, tables: { oid: number }[]): Promise<{ schema: string; name: string }[]> {
  if (tables.length === 0) return [];
  return db.query<{ schema: string; name: string }>(
    "SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ANY ($1::oid[]) AND NOT pg_catalog.pg_has_role(c.relowner, 'USAGE') ORDER BY 1, 2",
    [tables.map((t) => t.oid)]);
}

/**
 * The source role must be able to create the publication (CREATE on the
 * database, owner of every published table) and the slot (REPLICATION); the
 * target role must be able to create the subscription. Checked together,
 * before the publication is made.
 */
export async function refuseMissingPrivileges(source: Db, target: Db, tables: { oid: number }[], needPublication: boolean): Promise<void> {
  const problems: string[] = [];
  const fixes: string[] = [];
  const s = await roleFacts(source);
  if (!actsAsSuperuser(s)) {
    if (!s.rolreplication && !s.member_of.includes('rds_replication')) {
      problems.push(`source role ${s.rolname} has no REPLICATION attribute (the subscription's slot needs it)`);
      fixes.push(`ALTER ROLE ${quoteIdent(s.rolname)} REPLICATION on the source`);
    }
    if (needPublication && !s.can_create) {
      // sql-lint: safe (a message, not SQL)
      problems.push(`source role ${s.rolname} may not CREATE in database ${source.database} (CREATE PUBLICATION needs it)`);
      fixes.push(`GRANT CREATE ON DATABASE ${quoteIdent(source.database)} TO ${quoteIdent(s.rolname)} on the source`);
    }
    const notOwned = await tablesNotOwned(source, tables);
    if (notOwned.length) {
      problems.push(`source role ${s.rolname} does not own ${notOwned.length} table(s) to publish: ${notOwned.slice(0, 5).map(tableKey).join(', ')}${notOwned.length > 5 ? ', ...' : ''}`);
      fixes.push('make it (a member of) the owner of those tables');
    }
  }
  const t = await roleFacts(target);
  if (!actsAsSuperuser(t)) {
    const predefined = featuresOf(target.version).predefinedCreateSubscription;
    if (!predefined || !t.member_of.includes('pg_create_subscription')) {
      problems.push(`target role ${t.rolname} cannot create subscriptions (needs ${predefined ? 'a superuser or a member of pg_create_subscription' : `a superuser on PostgreSQL ${target.version.major}`})`);
      fixes.push(predefined ? `GRANT pg_create_subscription TO ${quoteIdent(t.rolname)} on the target` : 'connect to the target as a superuser');
    }
    if (!t.can_create) {
      // sql-lint: safe (a message, not SQL)
      problems.push(`target role ${t.rolname} may not CREATE in database ${target.database}`);
      fixes.push(`GRANT CREATE ON DATABASE ${quoteIdent(target.database)} TO ${quoteIdent(t.rolname)} on the target`);
    }
  }
  if (problems.length) {
    throw new ProblemError('missing_privileges', `cannot start replication of "${source.database}": ${problems.join('; ')}`, {
      hint: `Connect as a superuser (or the provider's admin role), or: ${fixes.join('; ')}. Nothing was changed.`,
    });
  }
}

/**
 * Rows already in the target's copies of the published tables would collide
 * with the initial copy. `onTarget`: the target's tables (tableNames).
 */
export async function refuseTargetRows(target: Db, tables: { schema: string; name: string }[], onTarget: Set<string>): Promise<void> {
  // Without ONLY: a published partitioned root counts its partitions' rows.
  const full = await tablesWithRows(target, tables.filter((t) => onTarget.has(tableKey(t))), { only: false, limit: 20 });
  if (full.length) {
    throw new SafetyError('target_has_rows', `the target database "${target.database}" already has rows in ${full.slice(0, 5).join(', ')}${full.length > 5 ? ', ...' : ''}: the initial copy would add the source's rows to them`, {
      hint: 'pgshift replicates only into empty tables. Empty them on the target (TRUNCATE) if their data is not needed, or point target.conn at another server. Nothing was changed.',
      details: { tables: full },
    });
  }
}

/**
 * Every table to publish must exist on the target before it is published:
 * a published table the target lacks stops the apply worker at its first
 * change (DDL is not replicated; a table created on the source after
 * `schema` is the usual way to get here).
 */
export async function refuseTablesMissingOnTarget(tables: { schema: string; name: string }[], onTarget: Set<string>, database: string): Promise<void> {
  const missing = tables.map(tableKey).filter((k) => !onTarget.has(k));
  if (missing.length === 0) return;
  throw new ProblemError('target_missing_tables', `${missing.length} table(s) to replicate do not exist on the target: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}; nothing was changed`, {
    hint: `Create them on the target with the source's definition (DDL is not replicated; "pgshift status ${database}" lists the drift), or exclude them in the config, then run start again.`,
  });
}

// --- Before a switchover or rollback pauses writes (steps/switchover.ts, steps/rollback.ts) ---

/** Transactions open this long are named before a pause (when max_pause is shorter, from max_pause). */
export const LONG_TRANSACTION_NOTE_MS = 1000;

export interface LongTransaction {
  pid: number;
  user: string | null;
  application: string | null;
  clientAddr: string | null;
  state: string | null;
  ageMs: number;
}

/** Client transactions open on a database for longer than thresholdMs, oldest first (long-transactions.sql). */
export async function longTransactions(db: Db, database: string, thresholdMs: number): Promise<LongTransaction[]> {
  const rows = await db.query<{ pid: number; usename: string | null; application_name: string | null; client_addr: string | null; state: string | null; age_ms: number }>(
    sqlFile('long-transactions'), [database, thresholdMs]);
  return rows.map((r) => ({ pid: r.pid, user: r.usename, application: r.application_name, clientAddr: r.client_addr, state: r.state, ageMs: Number(r.age_ms) }));
}

export function describeTransaction(t: LongTransaction): string {
  return `pid ${t.pid} (user ${t.user ?? '?'}, application "${t.application ?? ''}"${t.clientAddr ? `, from ${t.clientAddr}` : ''}, ${t.state ?? 'state unknown'}, open ${formatDuration(t.ageMs)})`;
}

/**
 * The long-transaction guard: a pause cannot be shorter than the longest
 * transaction it must wait for (PgBouncer's PAUSE waits for running
 * transactions; the fence proof for sessions that may still write), so a
 * transaction already open longer than max_pause on the side whose writes
 * pause would blow the budget. Refused (exit 3) unless forced; shorter ones
 * over LONG_TRANSACTION_NOTE_MS are named as warnings. Returns the warnings.
 */
export async function refuseLongTransactions(db: Db, database: string, what: string, maxPauseMs: number, force: boolean): Promise<Problem[]> {
  const found = await longTransactions(db, database, Math.min(LONG_TRANSACTION_NOTE_MS, maxPauseMs));
  const over = found.filter((t) => t.ageMs > maxPauseMs);
  if (over.length && !force) {
    throw new SafetyError('long_transaction', `${what}: ${over.length} transaction(s) on the ${db.side} have been open longer than max_pause (${formatDuration(maxPauseMs)}): ${over.slice(0, 5).map(describeTransaction).join('; ')}${over.length > 5 ? '; ...' : ''}`, {
      hint: `Nothing was changed. The pause would wait for ${over.length > 1 ? 'them' : 'it'} and overrun its budget. Wait for ${over.length > 1 ? 'them' : 'it'} to end, or end ${over.length > 1 ? 'them' : 'it'} on the ${db.side} with ${over.slice(0, 3).map((t) => `SELECT pg_terminate_backend(${t.pid})`).join('; ')}, then run the command again; or pass --force to go ahead (the pause then waits for ${over.length > 1 ? 'them' : 'it'}, or the revoke fence ends ${over.length > 1 ? 'them' : 'it'}).`,
      details: { transactions: over },
    });
  }
  if (found.length === 0) return [];
  return [problem('long_transactions', `${found.length} transaction(s) on the ${db.side} open for more than ${formatDuration(Math.min(LONG_TRANSACTION_NOTE_MS, maxPauseMs))}${force && over.length ? ' (--force: going ahead)' : ''}: ${found.slice(0, 5).map(describeTransaction).join('; ')}${found.length > 5 ? '; ...' : ''}; the pause waits for a transaction to end`)];
}
