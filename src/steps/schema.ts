// Step "schema": make the target database and its schema match the source's.
//
// What it does: refuses objects the target cannot restore as the source has
// them (src/checks/restore.ts), creates the database on the target if it is
// missing (owner, encoding and locale like the source's, from template0),
// checks that every extension the source uses can be installed on the
// target, then applies `pg_dump --schema-only --no-subscriptions` of the
// source to the target with psql
// (runPsqlScript: ON_ERROR_STOP, one transaction). The dump creates the
// extensions itself (CREATE EXTENSION IF NOT EXISTS, in dependency order,
// inside the same transaction); COMMENT ON EXTENSION entries are left out
// (only an extension's owner may set them, which a managed service's admin
// role is not) by filtering pg_dump's table of contents with pg_restore;
// so are pgshift's own publications. The application's publications are
// carried, as pg_upgrade keeps them: a change-data-capture consumer
// subscribes to the new primary under the same names (its slots are its own
// to make again).
// In the same transaction: NOT VALID CHECK constraints are taken out again
// and recorded until the initial copy is done (deferred-constraints.ts),
// and a database this run created gets the source database's own settings,
// privileges and comment (database-properties.ts).
//
// One unit: the apply is one transaction, so a failure leaves an existing
// database as it was; a database this run created is dropped again.
//
// With `existing`, nothing is applied: the target schema the user provisioned
// is checked for compatibility instead (schema-compat.ts), and how the
// database differs from the source's is reported.
//
// Needs: pg_dump/pg_restore at least as new as the source, and psql, of one
// installation (dumpTools in src/pg/tools.ts says which and why); a target role
// that may create databases (when the database is missing) and the objects.
//
// Idempotent: the step is done when every user schema, type and table column
// of the source exists on the target with the same type (schemaIsApplied,
// which looks at both clusters). A target database holding user tables that
// do not match is refused (exit 3): pgshift never applies a schema over data.

import { databaseConfig, type Config, type DatabaseConfig } from '../config/config.js';
import { silent, warning, type Emit } from '../events.js';
import { ProblemError, SafetyError, ToolError, throwIfAborted } from '../errors.js';
import { connect, withDb, type Db } from '../pg/connect.js';
import { listTables, replicatedTables, tableKey } from '../pg/catalog.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { dumpTools } from '../pg/tools.js';
import { featuresOf } from '../pg/version.js';
import { checkCompatibility, readColumns, type CompatReport } from '../checks/schema-compat.js';
import { refuseUnsupportedPair } from '../checks/preflight.js';
import { refuseUnrestorable } from '../checks/restore.js';
import { checkLabel, deferralSql, notValidChecks } from '../checks/deferred-constraints.js';
import { compareDatabaseProperties, planDatabaseProperties, readDatabaseProperties } from './database-properties.js';
import { isExtensionComment, pgshiftPublicationEntries } from '../initial-copy/dump-entries.js';
import { SchemaArchive } from '../initial-copy/schema-sections.js';

export interface SchemaReport {
  database: string;
  /** The database was created on the target in this run. */
  created: boolean;
  /** The source schema was applied in this run. */
  applied: boolean;
  /** The source's extensions (besides plpgsql), as "name version". */
  extensions: string[];
  /** The target already had the source schema: nothing was done. */
  alreadyDone: boolean;
  /** With `existing`: the compatibility check's findings. */
  compatibility?: CompatReport;
  /** NOT VALID CHECK constraints left out until the initial copy is done (deferred-constraints.ts). */
  deferredChecks?: string[];
  /** Properties of the source database (settings, privileges) the created target database did not get, with their SQL. */
  skippedDatabaseProperties?: string[];
  /** How a target database this run did not create differs from the source's (owner, settings, privileges, comment). */
  databaseDifferences?: string[];
}

/** A database pgshift did not create is the user's: its differences are reported, not overwritten. */
function reportDatabaseDifferences(report: SchemaReport, differences: string[], database: string, emit: Emit): void {
  if (differences.length === 0) return;
  report.databaseDifferences = differences;
  emit(warning('target_database_differs', `the target database "${database}" was not created by this run and differs from the source's (pgshift leaves it as it is): ${differences.join('; ')}`, 'change it yourself if it should match'));
}

export interface ApplySchemaOptions {
  /** Apply nothing; check the user-provisioned target schema instead. */
  existing?: boolean;
  emit?: Emit;
  signal?: AbortSignal;
}

type SourceExtension = { name: string; schema: string; version: string };

async function targetDatabaseExists(config: Config, database: string): Promise<boolean> {
  return withDb('target', config.target, {}, async (db) =>
    (await db.maybeOne('SELECT 1 AS x FROM pg_catalog.pg_database WHERE datname = $1', [database])) !== undefined);
}

/**
 * Has the source schema already been applied to the target? Every user
 * schema and type, and every table column with its type, of the source
 * exists on the target. Looks at both clusters; false when the target
 * database does not exist.
 */
export async function schemaIsApplied(config: Config, database: string): Promise<boolean> {
  if (!(await targetDatabaseExists(config, database))) return false;
  return withDb('source', config.source, { database }, (source) =>
    withDb('target', config.target, { database }, (target) => appliedOn(source, target)));
}

/** Every schema object and column of the source is on the target (it may have more). */
export async function appliedOn(source: Db, target: Db): Promise<boolean> {
  const fingerprint = async (db: Db): Promise<Set<string>> => {
    const objects = await db.query<{ kind: string; schema: string; name: string | null }>(sqlFile('schema-objects'));
    const cols = await readColumns(db);
    return new Set([
      ...objects.map((o) => JSON.stringify([o.kind, o.schema, o.name])),
      ...cols.map((c) => JSON.stringify(['column', c.schema, c.table, c.column, c.type])),
    ]);
  };
  const [s, t] = await Promise.all([fingerprint(source), fingerprint(target)]);
  for (const k of s) if (!t.has(k)) return false;
  return true;
}

/** Create the database on the target like the source's (owner, encoding, locale); false if it exists. */
export async function createTargetDatabase(config: Config, source: Db, database: string, emit: Emit): Promise<boolean> {
  const props = await source.one<{ encoding: string; collate: string; ctype: string; owner: string }>(sqlFile('schema-database'), [database]);
  return withDb('target', config.target, {}, async (db) => {
    if (await db.maybeOne('SELECT 1 AS x FROM pg_catalog.pg_database WHERE datname = $1', [database])) return false;
    const ownerExists = await db.maybeOne('SELECT 1 AS x FROM pg_catalog.pg_roles WHERE rolname = $1', [props.owner]);
    const ownerSql = ownerExists ? ` OWNER ${quoteIdent(props.owner)}` : '';
    if (!ownerExists) emit(warning('database_owner_missing', `the source database owner "${props.owner}" does not exist on the target; the database is owned by the connecting role`, 'run "pgshift roles" first to keep the owner'));
    const localeSql = ` LC_COLLATE ${quoteLiteral(props.collate)} LC_CTYPE ${quoteLiteral(props.ctype)}`;
    const base = `CREATE DATABASE ${quoteIdent(database)}${ownerSql} TEMPLATE template0 ENCODING ${quoteLiteral(props.encoding)}`;
    try {
      await db.query(base + localeSql);
    } catch (e) {
      // A locale the target's operating system does not have: create with the
      // target's default locale rather than fail, and say so (sort order may differ).
      if ((e as { sqlstate?: string }).sqlstate !== '22023' && (e as { sqlstate?: string }).sqlstate !== '42809') throw e;
      emit(warning('locale_missing', `the target has no locale "${props.collate}"/"${props.ctype}" (${(e as Error).message}); database created with the target's default locale, so text sort order may differ`));
      await db.query(base);
    }
    return true;
  });
}

/** Drop a target database this run created (its undo); nobody else knows it yet. */
export async function dropCreatedDatabase(config: Config, database: string): Promise<void> {
  await withDb('target', config.target, {}, (db) => db.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`));
}

/** The source's extensions (schema-extensions.sql) must all be installable on the target. */
async function checkExtensions(exts: SourceExtension[], target: Db): Promise<void> {
  if (exts.length === 0) return;
  const avail = await target.query<{ name: string; available: boolean; default_version: string | null; versions: string[] }>(
    sqlFile('schema-extensions-available'), [exts.map((e) => e.name)]);
  const missing = avail.filter((a) => !a.available).map((a) => a.name);
  if (missing.length) {
    throw new ProblemError('extension_unavailable', `extension(s) used by the source are not installable on the target: ${missing.join(', ')}`, {
      hint: 'Install the extension package for the target\'s PostgreSQL version on the target server (or ask the provider to enable it), then re-run. Nothing was applied.',
      details: { missing },
    });
  }
}

/**
 * The whole schema-only archive as one script for the target, minus what the
 * target must not get (COMMENT ON EXTENSION; the public schema's owner when
 * the target role may not give it away).
 */
async function schemaScript(archive: SchemaArchive, targetMajor: number, skipPublicOwner?: string): Promise<string> {
  // Entries look like "123; 0 0 COMMENT - EXTENSION pg_trgm".
  const entries = (await archive.toc()).filter((e) => !isExtensionComment(e.line)
    && !(skipPublicOwner !== undefined && /^\d+; \d+ \d+ SCHEMA - public /.test(e.line) && e.line.endsWith(` public ${skipPublicOwner}`)));
  return archive.sqlFor(entries, targetMajor);
}

/** Apply the source schema to the target, or with `existing` check the target's (see the file header). */
export async function applySchema(config: Config, database: string, opts: ApplySchemaOptions = {}): Promise<SchemaReport> {
  const emit = opts.emit ?? silent;
  const dbConfig = databaseConfig(config, database);
  const started = Date.now();
  const step = opts.existing ? 'schema-check' : 'schema';
  emit({ type: 'step', step, state: 'start', message: database });
  const made = { created: false };
  try {
    const report = await withDb('source', config.source, { database }, async (source) => {
      const sourceExtensions = await source.query<SourceExtension>(sqlFile('schema-extensions'));
      const report: SchemaReport = { database, created: false, applied: false, extensions: sourceExtensions.map((e) => `${e.name} ${e.version}`), alreadyDone: false };
      if (opts.existing) {
        report.compatibility = await checkExisting(config, source, database, dbConfig, report, emit);
        return report;
      }
      throwIfAborted(opts.signal, 'schema step');
      await refuseUnsupportedPair(config, source);
      if (!(await schemaIsApplied(config, database))) await refuseUnrestorable(config, source, database);
      made.created = report.created = await createTargetDatabase(config, source, database, emit);
      if (made.created) emit({ type: 'info', message: `created database "${database}" on the target` });
      await copySchema(config, source, database, sourceExtensions, report, emit, opts.signal);
      return report;
    });
    finished(report, step, started, emit);
    return report;
  } catch (e) {
    if (made.created) {
      await dropCreatedDatabase(config, database).catch((dropErr: unknown) => {
        emit(warning('created_database_not_dropped', `could not drop the database "${database}" this run created: ${(dropErr as Error).message}`, 'drop it by hand before re-running'));
      });
    }
    emit({ type: 'step', step, state: 'fail', message: (e as Error).message });
    if (e instanceof ToolError && e.code === 'tool_failed') {
      throw new ToolError('schema_dump_failed', `dumping the source schema of "${database}" failed: ${e.message}`, {
        cause: e, hint: 'Check that the source role may read every object of the database (a superuser, or the owner of every schema). Nothing was applied to the target.',
      });
    }
    throw e;
  }
}

/** --existing: the target's own schema checked against the source's (nothing applied). */
async function checkExisting(config: Config, source: Db, database: string, dbConfig: DatabaseConfig, report: SchemaReport, emit: Emit): Promise<CompatReport> {
  if (!(await targetDatabaseExists(config, database))) {
    throw new ProblemError('target_database_missing', `--existing: the target has no database "${database}"`, {
      hint: `Create and provision it on the target, or run "pgshift schema ${database}" without --existing to copy the source schema.`,
    });
  }
  const all = await listTables(source);
  const replicated = replicatedTables(all, dbConfig.exclude, featuresOf(source.version).publishViaPartitionRoot);
  return withDb('target', config.target, { database }, async (target) => {
    reportDatabaseDifferences(report, compareDatabaseProperties((await readDatabaseProperties(source, database))!, (await readDatabaseProperties(target, database))!), database, emit);
    return checkCompatibility(source, target, replicated, emit);
  });
}

/**
 * The source schema onto the target database (which this run may just have
 * created: report.created), with the database's own properties, unless it is
 * there already; refused over tables that are not the source's.
 */
async function copySchema(config: Config, source: Db, database: string, sourceExtensions: SourceExtension[], report: SchemaReport, emit: Emit, signal?: AbortSignal): Promise<void> {
  const target = await connect('target', config.target, { database });
  try {
    const sourceProps = (await readDatabaseProperties(source, database))!;
    let propertiesSql = '';
    if (report.created) {
      const plan = await planDatabaseProperties(sourceProps, database, target);
      propertiesSql = plan.sql;
      if (plan.skipped.length) {
        report.skippedDatabaseProperties = plan.skipped;
        for (const w of plan.skipped) emit(warning('database_property_skipped', `database "${database}" on the target will not get this property of the source's: ${w}`));
      }
    } else {
      reportDatabaseDifferences(report, compareDatabaseProperties(sourceProps, (await readDatabaseProperties(target, database))!), database, emit);
    }
    if (!report.created && (await appliedOn(source, target))) {
      report.alreadyDone = true;
      return;
    }
    const userTables = (await listTables(target)).filter((t) => !t.extension);
    if (userTables.length) {
      const shown = userTables.slice(0, 5).map(tableKey).join(', ');
      throw new SafetyError('target_not_empty', `the target database "${database}" already has ${userTables.length} user table(s) that do not match the source schema (${shown}${userTables.length > 5 ? ', ...' : ''}); pgshift will not apply a schema over them`, {
        hint: `If you provisioned the target schema yourself, run "pgshift schema ${database} --existing" to check it instead. Otherwise drop or rename the target database and re-run.`,
        details: { tables: userTables.map(tableKey) },
      });
    }
    await checkExtensions(sourceExtensions, target);
    throwIfAborted(signal, 'schema step');
    // The source's bootstrap superuser owns its public schema (before 15) and is
    // never copied; a non-superuser target role may not hand the schema to the
    // target's own, so the target's public schema keeps its owner (15+: the database owner).
    const targetSuper = (await target.one<{ su: boolean }>('SELECT rolsuper AS su FROM pg_catalog.pg_roles WHERE rolname = current_user')).su;
    const bootstrap = (await source.one<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles WHERE oid = 10')).name;
    const targetMajor = target.version.major;
    await target.close();
    await applyArchive(config, source, database, targetMajor, targetSuper ? undefined : bootstrap, propertiesSql, report, emit, signal);
  } finally {
    await target.close();
  }
}

/** Dump, adapt and apply the schema in one transaction; NOT VALID CHECK constraints deferred (they would reject the source's old rows during the initial copy). */
async function applyArchive(config: Config, source: Db, database: string, targetMajor: number, skipPublicOwner: string | undefined, propertiesSql: string, report: SchemaReport, emit: Emit, signal?: AbortSignal): Promise<void> {
  const tools = await dumpTools(source.version.major, targetMajor);
  const archive = await SchemaArchive.dump(config, database, tools, await pgshiftPublicationEntries(source));
  let deferred: Awaited<ReturnType<typeof notValidChecks>>;
  try {
    const sql = await schemaScript(archive, targetMajor, skipPublicOwner);
    deferred = await notValidChecks(source);
    throwIfAborted(signal, 'schema step');
    await archive.applyOnTarget(sql + deferralSql(deferred) + propertiesSql, 'source schema', {
      code: 'schema_apply_failed', rerun: `"pgshift schema ${database}"`, state: 'The target was left as it was (the schema is applied in one transaction).',
    });
  } finally {
    archive.remove();
  }
  report.applied = true;
  if (deferred.length > 0) {
    report.deferredChecks = deferred.map(checkLabel);
    emit({ type: 'info', message: `${deferred.length} NOT VALID CHECK constraint(s) wait for the initial copy (rows on the source may violate them); "pgshift wait ${database}" adds them once every table is ready: ${report.deferredChecks.join(', ')}` });
  }
}

/** The step's end: an incompatible --existing target refused, else done or skipped. */
function finished(report: SchemaReport, step: string, started: number, emit: Emit): void {
  if (report.compatibility) {
    const bad = report.compatibility.differences.filter((d) => d.verdict === 'incompatible');
    if (bad.length) {
      throw new ProblemError('schema_incompatible', `the target schema of "${report.database}" cannot receive the source's rows: ${bad.map((d) => `${d.table}${d.column ? '.' + d.column : ''} (${d.reason})`).join('; ')}`, {
        hint: 'Change the target schema so every replicated source column exists there with a type the source type converts to (or exclude the table in the config), then re-run with --existing.',
        details: { compatibility: report.compatibility },
      });
    }
    emit({ type: 'step', step, state: 'done', ms: Date.now() - started,
      message: `${report.compatibility.tables} table(s) checked, ${report.compatibility.differences.length} difference(s), none incompatible` });
  } else if (report.alreadyDone) {
    emit({ type: 'step', step, state: 'skip', message: 'the target already has the source schema' });
  } else {
    emit({ type: 'step', step, state: 'done', ms: Date.now() - started });
  }
}
