// NOT VALID CHECK constraints (on tables and on domains) wait for the
// initial copy. Rows written on the source before such a constraint was
// added may legally violate it, and the native initial copy (the table sync
// workers' COPY) checks every constraint the target has: one such row makes
// the copy of its table fail again and again. pg_dump itself puts these
// constraints after the data for the same reason; fast copy follows pg_dump's
// sections and already adds them after its copy.
//
// For the native copy:
//   - schema applies the source's schema and, in the same transaction,
//     drops these constraints again and records them in
//     pgshift.deferred_constraints in the target database (deferralSql): the
//     record lives and dies with the schema it belongs to, and a schema the
//     user provisioned (--existing) has none, so pgshift never adds
//     constraints to it;
//   - wait (and so run) adds them, NOT VALID as on the source and with their
//     comments, once every table is ready: rows that arrive later come from
//     the source, which enforces the constraint on them (addDeferredChecks);
//     each is added and struck from the record in one transaction, so a
//     killed run loses none and adds none twice; the record goes when empty;
//   - switchover refuses while any is still recorded (pendingDeferred);
//   - cleanup adds what is left (no copy can run once the subscription is
//     gone), so no record stays behind.

import type { Config } from '../config/config.js';
import { warning, type Emit } from '../events.js';
import { withDb, withTransaction, type Db } from '../pg/connect.js';
import { qualify, quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { faultPoint } from '../util/fault.js';

export type DeferredCheck = {
  kind: 'table' | 'domain';
  schema: string;
  /** The table or domain. */
  name: string;
  constraint: string;
};

export type SourceCheck = DeferredCheck & {
  /** pg_get_constraintdef, names qualified: CHECK (...) NOT VALID. */
  def: string;
  comment: string | null;
  /** Ancestors of the table (0 for domains): parents first. */
  depth: number;
};

/** Where schema records them, in the target database (qualified, as SQL). */
const RECORD_SQL = 'pgshift.deferred_constraints';

export function checkLabel(c: DeferredCheck): string {
  return `${c.schema}.${c.name}.${c.constraint}${c.kind === 'domain' ? ' (domain)' : ''}`;
}

function keyOf(c: DeferredCheck): string {
  return JSON.stringify([c.kind, c.schema, c.name, c.constraint]);
}

/** The source's NOT VALID CHECK constraints (deferred-checks.sql), tables before domains, parents before children. */
export async function notValidChecks(source: Db): Promise<SourceCheck[]> {
  await source.query("SELECT pg_catalog.set_config('search_path', '', false)");
  try {
    return await source.query<SourceCheck>(sqlFile('deferred-checks'));
  } finally {
    await source.query('RESET search_path');
  }
}

function targetObjectSql(c: DeferredCheck): string {
  const alterSql = c.kind === 'domain' ? 'ALTER DOMAIN' : 'ALTER TABLE';
  return `${alterSql} ${qualify(c.schema, c.name)}`;
}

/**
 * SQL appended to the schema script (same transaction): drop the deferred
 * constraints the dump just made, parents first (a parent's drop takes its
 * children's inherited copies along), and record them.
 */
export function deferralSql(checks: SourceCheck[]): string {
  if (checks.length === 0) return '';
  const lines = [
    '',
    '-- pgshift: NOT VALID CHECK constraints are added after the initial copy (rows on the source may violate them).',
    ...checks.map((c) => `${targetObjectSql(c)} DROP CONSTRAINT IF EXISTS ${quoteIdent(c.constraint)};`),
    'CREATE SCHEMA IF NOT EXISTS pgshift;',
    `CREATE TABLE IF NOT EXISTS ${RECORD_SQL} (kind text NOT NULL, schema_name text NOT NULL, object_name text NOT NULL, constraint_name text NOT NULL, PRIMARY KEY (kind, schema_name, object_name, constraint_name));`,
    `INSERT INTO ${RECORD_SQL} VALUES ${checks.map((c) => `(${[c.kind, c.schema, c.name, c.constraint].map(quoteLiteral).join(', ')})`).join(', ')} ON CONFLICT DO NOTHING;`,
    '',
  ];
  return lines.join('\n');
}

/** The constraints recorded as deferred in this target database (none without a record). */
export async function pendingDeferred(target: Db): Promise<DeferredCheck[]> {
  const t = await target.one<{ t: string | null }>(`SELECT pg_catalog.to_regclass(${quoteLiteral(RECORD_SQL)})::text AS t`);
  if (!t.t) return [];
  return target.query<DeferredCheck>(
    `SELECT kind, schema_name AS schema, object_name AS name, constraint_name AS constraint FROM ${RECORD_SQL} ORDER BY 1 DESC, 2, 3, 4`);
}

async function existsOnTarget(target: Db, c: DeferredCheck): Promise<boolean> {
  const row = c.kind === 'domain'
    ? await target.maybeOne(
      `SELECT 1 AS x FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_type t ON t.oid = k.contypid
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = $1 AND t.typname = $2 AND k.conname = $3`,
      [c.schema, c.name, c.constraint])
    : await target.maybeOne(
      `SELECT 1 AS x FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class r ON r.oid = k.conrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = $1 AND r.relname = $2 AND k.conname = $3`,
      [c.schema, c.name, c.constraint]);
  return row !== undefined;
}

async function dropRecordIfEmpty(target: Db, stillCounted: number): Promise<void> {
  const left = await target.one<{ n: number }>(`SELECT count(*)::int AS n FROM ${RECORD_SQL}`);
  if (left.n - stillCounted > 0) return;
  await target.change(`DROP TABLE ${RECORD_SQL}`);
  // The schema is ours alone; leave it only if something else of ours lives there.
  await target.change("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift') THEN DROP SCHEMA IF EXISTS pgshift; END IF; END $$");
}

/**
 * Add the recorded constraints on the target, as the source has them now,
 * and strike each from the record in the same transaction. Call only when
 * no initial copy can run any more (every table ready, or no subscription).
 * Returns what was added.
 */
export async function addDeferredChecks(source: Db, target: Db, emit: Emit): Promise<DeferredCheck[]> {
  const pending = await pendingDeferred(target);
  if (pending.length === 0) return [];
  const defs = new Map((await notValidChecks(source)).map((c) => [keyOf(c), c]));
  const order = [...defs.keys()];
  pending.sort((a, b) => order.indexOf(keyOf(a)) - order.indexOf(keyOf(b)));
  const added: DeferredCheck[] = [];
  // A brief ACCESS EXCLUSIVE lock per table (NOT VALID: no scan); the apply worker may hold a table a moment.
  await target.query("SET lock_timeout = '30s'");
  try {
    for (const c of pending) {
      const src = defs.get(keyOf(c));
      await withTransaction(target, async () => {
        if (src && !(await existsOnTarget(target, c))) {
          // sql-lint: safe (the definition is pg_get_constraintdef output read from the source)
          await target.change(`${targetObjectSql(c)} ADD CONSTRAINT ${quoteIdent(c.constraint)} ${src.def}`);
          if (src.comment !== null) {
            // sql-lint: safe (COMMENT ON CONSTRAINT with quoted names and a literal)
            await target.change(`COMMENT ON CONSTRAINT ${quoteIdent(c.constraint)} ON ${c.kind === 'domain' ? 'DOMAIN ' : ''}${qualify(c.schema, c.name)} IS ${quoteLiteral(src.comment)}`);
          }
          added.push(c);
        }
        await target.change(`DELETE FROM ${RECORD_SQL} WHERE kind = $1 AND schema_name = $2 AND object_name = $3 AND constraint_name = $4`, [c.kind, c.schema, c.name, c.constraint]);
      });
      faultPoint('after:deferred-check');
      if (!src) emit(warning('deferred_check_gone', `CHECK constraint ${checkLabel(c)} is no longer NOT VALID on the source (dropped, or validated there since): not added on the target`, 'add it there yourself if it is still wanted'));
    }
    // A dry run deleted no row of the record: the ones it would have deleted still count.
    await dropRecordIfEmpty(target, target.dryRun ? pending.length : 0);
  } finally {
    await target.query('RESET lock_timeout');
  }
  if (added.length > 0) {
    emit({ type: 'info', message: `added ${added.length} NOT VALID CHECK constraint(s) on the target now that the initial copy is done: ${added.map(checkLabel).join(', ')}` });
  }
  return added;
}

/** addDeferredChecks on connections of its own; nothing to do (and no source connection) without a record. */
export async function addDeferredChecksFor(config: Config, database: string, emit: Emit): Promise<DeferredCheck[]> {
  return withDb('target', config.target, { database }, async (target) => {
    if ((await pendingDeferred(target)).length === 0) return [];
    return withDb('source', config.source, { database }, (source) => addDeferredChecks(source, target, emit));
  });
}
