// Schema drift while replicating: DDL is not replicated, so a column added
// on the source breaks the apply worker at the first change of that table
// that carries it ("target relation ... is missing replicated column"), and
// a table created on the source after `start` is not in the publication at
// all: its rows would be left behind by a switchover. This finds both from
// the two catalogs, before they break anything, and says what to run.
//
// Needs: the publication (pgshift start) and the target database. Strictly
// read-only on both sides; used by status (the `drift` field) and by the
// switchover preflight, which refuses while there is drift.
//
// The rules are the ones `schema --existing` applies (schema-compat.ts): a
// source column missing on the target, or of a type the target cannot take
// by assignment, is a mismatch; wider target types and nullable extra target
// columns are accepted drift, not a problem.

import type { DatabaseConfig } from '../config/config.js';
import type { Db } from '../pg/connect.js';
import { tableKey, tableNames } from '../pg/catalog.js';
import { qualify, quoteIdent } from '../pg/quote.js';
import { problem, type Problem } from '../problems.js';
import { sqlFile } from '../pg/sql.js';
import { checkCompatibility } from './schema-compat.js';
import { planPublication } from '../replication/publication.js';

export interface NewTable {
  schema: string;
  name: string;
  /** Listed in pgshift's publication already (start ran after it was created). */
  published: boolean;
  /** A table of that name exists in the target database. */
  onTarget: boolean;
}

export interface ColumnMismatch {
  /** schema.table, unquoted */
  table: string;
  schema: string;
  name: string;
  column: string;
  /** The source column's type (format_type), null for a target-only column. */
  sourceType: string | null;
  /** The target column's type, null when the column is missing there. */
  targetType: string | null;
  reason: string;
}

export interface SchemaDrift {
  /**
   * Tables `start` would replicate (not excluded, logged, with a usable
   * replica identity) that are not both published and on the target.
   */
  newTables: NewTable[];
  /** Columns of published tables that replication cannot write into the target. */
  columnMismatches: ColumnMismatch[];
}

export function hasDrift(d: SchemaDrift | null | undefined): boolean {
  return Boolean(d && (d.newTables.length > 0 || d.columnMismatches.length > 0));
}

/** Compare what the source replicates, or should, with the publication and the target's tables. */
export async function findSchemaDrift(source: Db, target: Db, dbConfig: DatabaseConfig, publication: string): Promise<SchemaDrift> {
  const plan = await planPublication(source, dbConfig);
  const published = await source.query<{ schema: string; name: string }>(sqlFile('start-published-tables'), [publication]);
  const publishedKeys = new Set(published.map(tableKey));
  const onTarget = await tableNames(target);

  const newTables: NewTable[] = [];
  for (const t of plan.tables) {
    const isPublished = publishedKeys.has(tableKey(t));
    const exists = onTarget.has(tableKey(t));
    if (!isPublished || !exists) newTables.push({ schema: t.schema, name: t.name, published: isPublished, onTarget: exists });
  }
  // A published table missing on the target is reported as a new table, not per column.
  const comparable = published.filter((t) => onTarget.has(tableKey(t)));
  const columnMismatches: ColumnMismatch[] = [];
  if (comparable.length > 0) {
    const report = await checkCompatibility(source, target, comparable);
    const byKey = new Map(comparable.map((t) => [tableKey(t), t]));
    for (const d of report.differences) {
      if (d.verdict !== 'incompatible' || !d.column) continue;
      const t = byKey.get(d.table);
      if (!t) continue;
      columnMismatches.push({
        table: d.table, schema: t.schema, name: t.name, column: d.column,
        sourceType: d.sourceType ?? null, targetType: d.targetType ?? null, reason: d.reason,
      });
    }
  }
  return { newTables, columnMismatches };
}

const SHOWN = 5;

/** The drift as problems, each with the next step. */
export function driftProblems(d: SchemaDrift, database: string): Problem[] {
  const out: Problem[] = [];
  for (const m of d.columnMismatches.slice(0, SHOWN)) {
    if (m.targetType === null && m.sourceType !== null) {
      out.push(problem('drift_column_missing', `schema drift: column ${m.table}.${m.column} (${m.sourceType}) exists on the source but not on the target; the next change to ${m.table} that replicates stops the subscription`,
        // sql-lint: safe (advice for the user; names go through qualify/quoteIdent, the type is format_type text)
        `add the column on the target now: ALTER TABLE ${qualify(m.schema, m.name)} ADD COLUMN ${quoteIdent(m.column)} ${m.sourceType};`));
    } else {
      out.push(problem('drift_column_incompatible', `schema drift: column ${m.table}.${m.column}: ${m.reason}${m.sourceType && m.targetType ? ` (source ${m.sourceType}, target ${m.targetType})` : ''}`,
        'change the target column so it can take the source\'s values'));
    }
  }
  if (d.columnMismatches.length > SHOWN) {
    out.push(problem('drift_more_columns', `schema drift: ${d.columnMismatches.length - SHOWN} more column mismatch(es)`, '"pgshift status --json" lists them all (drift.columnMismatches)'));
  }
  const missing = d.newTables.filter((t) => !t.onTarget);
  const unpublished = d.newTables.filter((t) => t.onTarget && !t.published);
  const names = (ts: NewTable[]): string => ts.slice(0, SHOWN).map((t) => tableKey(t)).join(', ') + (ts.length > SHOWN ? ` (+${ts.length - SHOWN} more)` : '');
  if (missing.length > 0) {
    out.push(problem('drift_table_missing', `schema drift: ${missing.length} table(s) on the source ${missing.length === 1 ? 'is' : 'are'} not on the target and not replicated: ${names(missing)}`,
      `create ${missing.length === 1 ? 'it' : 'them'} on the target with the same definition (e.g. pg_dump --schema-only --table=... on the source), then run "pgshift start ${database}" again to publish and copy ${missing.length === 1 ? 'it' : 'them'}`));
  }
  if (unpublished.length > 0) {
    out.push(problem('drift_table_unpublished', `schema drift: ${unpublished.length} table(s) on the source ${unpublished.length === 1 ? 'is' : 'are'} not in the publication, so not replicated: ${names(unpublished)}`,
      `run "pgshift start ${database}" again to publish and copy ${unpublished.length === 1 ? 'it' : 'them'}`));
  }
  return out;
}
