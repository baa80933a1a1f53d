// Objects the target cannot restore as the source has them. The schema is
// copied as a schema-only dump of the source applied to the target in one
// transaction, so one such object stops it all. `check` reports them (a
// fail naming each object and the change to make ON THE SOURCE), `schema`
// and fast copy refuse before they create anything, and when an apply still
// fails on one, restoreFixFor() turns the server's message into the same
// advice.
//
// Rules, each one query in src/pg/sql/restore-*.sql:
//   - lz4: columns stored with lz4 compression, when the target server was
//     built without lz4 (its default_toast_compression offers no lz4);
//   - generated-child: generated columns of inheritance children and
//     partitions whose parent column is not generated, which 16+ refuses;
//   - c-library: C functions outside extensions whose shared library the
//     target does not have, or has only as another major version's build;
//   - column-order (a warning): inheritance children whose columns the
//     restore puts in another order (pg_dump writes a child as CREATE TABLE
//     … INHERITS, which puts the parents' columns first; only pg_upgrade's
//     binary-upgrade mode keeps the order). Rows arrive intact (replication
//     matches columns by name), but SELECT * and INSERT without a column
//     list see the columns in another order on the target.
// (Rules for objects old source versions allow and new targets do not are
// a module of their own.)
//
// Read-only on both clusters.

import type { Config } from '../config/config.js';
import { ProblemError } from '../errors.js';
import { withDb, type Db } from '../pg/connect.js';
import { qualify, quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';

export interface RestoreProblem {
  /** Stable identifier: restore.lz4, restore.generated-child, restore.c-library. */
  id: string;
  severity: 'fail' | 'warn';
  title: string;
  /** The objects concerned, unquoted. */
  objects: string[];
  /** What to change, and where (on the source). */
  fix: string;
}

type Lz4Column = { schema: string; name: string; relkind: string; column: string };
type GeneratedChild = { schema: string; name: string; column: string; parent_schema: string; parent_name: string; is_partition: boolean };
type CFunction = { signature: string; library: string };
/** A table of a plain inheritance tree, as restore-inheritance-columns.sql reads it. */
export type InheritanceTable = { oid: string; schema: string; name: string; columns: string[]; parents: string[] };

/**
 * The column order a schema-only restore gives each table: its parents'
 * restored columns first (merged by name, parents in inheritance order),
 * then its own columns in their order. Returns the tables whose order
 * differs from the source's, with both orders.
 */
export function reorderedByRestore(tables: InheritanceTable[]): Array<{ table: InheritanceTable; restored: string[] }> {
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  const memo = new Map<string, string[]>();
  const restoredOrder = (t: InheritanceTable): string[] => {
    const known = memo.get(t.oid);
    if (known) return known;
    const inherited: string[] = [];
    for (const p of t.parents) {
      const parent = byOid.get(p);
      for (const c of parent ? restoredOrder(parent) : []) if (!inherited.includes(c)) inherited.push(c);
    }
    const order = [...inherited, ...t.columns.filter((c) => !inherited.includes(c))];
    memo.set(t.oid, order);
    return order;
  };
  return tables
    .map((table) => ({ table, restored: restoredOrder(table) }))
    .filter(({ table, restored }) => restored.join('\u0000') !== table.columns.join('\u0000'));
}

async function columnOrderProblems(source: Db): Promise<RestoreProblem[]> {
  const moved = reorderedByRestore(await source.query<InheritanceTable>(sqlFile('restore-inheritance-columns')));
  if (moved.length === 0) return [];
  const first = moved[0]!;
  return [{
    id: 'restore.column-order', severity: 'warn',
    title: `${moved.length} inheritance child${moved.length === 1 ? '' : 'ren'} will have ${moved.length === 1 ? 'its' : 'their'} columns in another order on the target: a schema restore puts inherited columns first (only pg_upgrade keeps the order). Every row arrives intact (replication matches columns by name), but SELECT * and INSERT without a column list see the new order there`, // sql-lint: safe (a finding's prose; names quoted with quoteIdent/qualify)
    objects: moved.map(({ table, restored }) => `${table.schema}.${table.name} (${table.columns.join(', ')} -> ${restored.join(', ')})`),
    fix: `On the application side, name the columns in INSERT and SELECT on these tables (e.g. INSERT INTO ${qualify(first.table.schema, first.table.name)} (${first.table.columns.map((c) => quoteIdent(c)).join(', ')}) VALUES …) before the switchover; the order cannot be changed after the restore.`, // sql-lint: safe (a finding's prose; names quoted with quoteIdent/qualify)
  }];
}

/** Whether the server was built with lz4: its default_toast_compression offers it. */
export async function targetHasLz4(target: Db): Promise<boolean> {
  const row = await target.maybeOne<{ lz4: boolean }>(
    "SELECT 'lz4' = ANY (enumvals) AS lz4 FROM pg_catalog.pg_settings WHERE name = 'default_toast_compression'");
  return row?.lz4 === true;
}

async function lz4Problems(source: Db, target: Db): Promise<RestoreProblem[]> {
  if (!featuresOf(source.version).columnCompression || (await targetHasLz4(target))) return [];
  const cols = await source.query<Lz4Column>(sqlFile('restore-lz4-columns'));
  if (cols.length === 0) return [];
  const first = cols[0]!;
  const alterSql = first.relkind === 'm' ? 'ALTER MATERIALIZED VIEW' : first.relkind === 'f' ? 'ALTER FOREIGN TABLE' : 'ALTER TABLE';
  return [{
    id: 'restore.lz4', severity: 'fail',
    title: `${cols.length} column${cols.length === 1 ? ' is' : 's are'} stored with lz4 compression, and the target server (PostgreSQL ${target.version.major}) was built without lz4: the schema cannot be restored there ("compression method lz4 not supported")`,
    objects: cols.map((c) => `${c.schema}.${c.name}.${c.column}`),
    fix: `On the source, switch each column to pglz, e.g. ${alterSql} ${qualify(first.schema, first.name)} ALTER COLUMN ${quoteIdent(first.column)} SET COMPRESSION pglz; (values already stored stay as they are and replicate as plain values; nothing is rewritten). Or use a target server built with lz4 (configure --with-lz4).`,
  }];
}

async function generatedChildProblems(source: Db, target: Db): Promise<RestoreProblem[]> {
  if (!featuresOf(source.version).generatedColumns || !featuresOf(target.version).childGenerationMustMatchParent) return [];
  const rows = await source.query<GeneratedChild>(sqlFile('restore-generated-children'));
  if (rows.length === 0) return [];
  const r = rows[0]!;
  const childSql = qualify(r.schema, r.name);
  const parentSql = qualify(r.parent_schema, r.parent_name);
  const unlinkSql = r.is_partition ? `ALTER TABLE ${parentSql} DETACH PARTITION ${childSql}` : `ALTER TABLE ${childSql} NO INHERIT ${parentSql}`;
  const relinkSql = r.is_partition ? `ALTER TABLE ${parentSql} ATTACH PARTITION ${childSql} <its partition bound>` : `ALTER TABLE ${childSql} INHERIT ${parentSql}`;
  return [{
    id: 'restore.generated-child', severity: 'fail',
    title: `${rows.length} generated column${rows.length === 1 ? '' : 's'} in inheritance children or partitions whose parent column is not generated: PostgreSQL ${target.version.major} refuses them ("child column specifies generation expression"; 16 and later require the parent column to be generated too)`,
    objects: rows.map((x) => `${x.schema}.${x.name}.${x.column} (parent ${x.parent_schema}.${x.parent_name})`),
    fix: `On the source, make each such column a plain one (its values stay; new rows no longer compute it, a trigger can): BEGIN; ${unlinkSql}; ALTER TABLE ${childSql} ALTER COLUMN ${quoteIdent(r.column)} DROP EXPRESSION; ${relinkSql}; COMMIT; (DROP EXPRESSION is refused while the table is attached). Or drop the table if it is unused.`,
  }];
}

/** The target's $libdir, and whether it may look at files (pg_stat_file); undefined when it may not. */
async function targetFiles(target: Db): Promise<{ libdir: string | undefined; exists: (path: string) => Promise<boolean | undefined> }> {
  let libdir: string | undefined;
  try {
    libdir = (await target.maybeOne<{ dir: string }>("SELECT setting AS dir FROM pg_catalog.pg_config WHERE name = 'PKGLIBDIR'"))?.dir;
  } catch {
    libdir = undefined;
  }
  const exists = async (path: string): Promise<boolean | undefined> => {
    try {
      return (await target.one<{ present: boolean }>('SELECT (pg_catalog.pg_stat_file($1, true)).size IS NOT NULL AS present', [path])).present;
    } catch {
      return undefined;
    }
  };
  return { libdir, exists };
}

async function cLibraryProblems(source: Db, target: Db): Promise<RestoreProblem[]> {
  const fns = await source.query<CFunction>(sqlFile('restore-c-functions'));
  if (fns.length === 0) return [];
  const files = await targetFiles(target);
  const otherMajor = source.version.major !== target.version.major;
  // A path into a versioned installation (/usr/lib/postgresql/15/lib, /usr/pgsql-15/lib) holds that version's build.
  const builtForSource = new RegExp(`(^|[/-]|postgresql|pgsql)${source.version.major}(\\.\\d+)?/`);
  const missing: string[] = [];
  const unknown: string[] = [];
  for (const f of fns) {
    const lib = f.library;
    let present: boolean | undefined;
    if (lib.startsWith('/')) {
      present = await files.exists(lib);
      if (present && otherMajor && builtForSource.test(lib)) present = false;
    } else if (files.libdir) {
      const base = `${files.libdir}/${lib.replace(/^\$libdir\//, '')}`;
      present = (await files.exists(base)) || (await files.exists(`${base}.so`));
    }
    const label = `${f.signature}: ${lib}`;
    if (present === false) missing.push(label);
    else if (present === undefined) unknown.push(label);
  }
  const out: RestoreProblem[] = [];
  const recreate = `re-create each with its library named as '$libdir/<file>' (CREATE OR REPLACE FUNCTION ... AS '$libdir/<file>', '<symbol>' LANGUAGE C), so each server loads its own build, and install that library on the target; or drop the functions (and the triggers that use them) if they are unused`;
  if (missing.length) {
    out.push({
      id: 'restore.c-library', severity: 'fail',
      title: `${missing.length} C function${missing.length === 1 ? '' : 's'} outside any extension name${missing.length === 1 ? 's' : ''} a shared library the target cannot load${otherMajor ? ` (missing there, or a PostgreSQL ${source.version.major} build the target's ${target.version.major} refuses)` : ' (missing there)'}`,
      objects: missing,
      fix: `On the source, ${recreate}.`,
    });
  }
  if (unknown.length) {
    out.push({
      id: 'restore.c-library', severity: 'warn',
      title: `${unknown.length} C function${unknown.length === 1 ? '' : 's'} outside any extension: the target must have ${unknown.length === 1 ? 'its' : 'their'} shared library built for PostgreSQL ${target.version.major} (the target role may not look at its files, so pgshift cannot tell)`,
      objects: unknown,
      fix: `Install the libraries on the target; if they are named by an absolute path into the source's installation, ${recreate}.`,
    });
  }
  return out;
}

/** Every rule, against one source database and the target server. */
export async function restoreProblems(source: Db, target: Db): Promise<RestoreProblem[]> {
  return [
    ...(await lz4Problems(source, target)),
    ...(await generatedChildProblems(source, target)),
    ...(await cLibraryProblems(source, target)),
    ...(await columnOrderProblems(source)),
  ];
}

/**
 * When applying the schema failed with a server message one of the rules
 * explains, the fix on the source; undefined otherwise.
 */
export function restoreFixFor(message: string, database: string): string | undefined {
  const check = `"pgshift check ${database}" lists every such object`;
  if (/compression method lz4 not supported/.test(message)) {
    // sql-lint: safe (advice for people, not SQL pgshift runs)
    return `The target server has no lz4: on the source, switch the lz4 columns to pglz (ALTER TABLE ... ALTER COLUMN ... SET COMPRESSION pglz); ${check}.`;
  }
  if (/child column ".*" specifies generation expression|column ".*" in child table must be a generated column|inherits from generated column/.test(message)) {
    // sql-lint: safe (advice for people, not SQL pgshift runs)
    return `The target refuses a generated column in an inheritance child or partition that its parent does not generate: on the source, make it a plain column (NO INHERIT, ALTER COLUMN ... DROP EXPRESSION, INHERIT again); ${check}.`;
  }
  if (/incompatible library ".*": version mismatch|could not access file ".*": No such file or directory|could not load library/.test(message)) {
    return `A C function names a shared library the target cannot load: on the source, re-create it with its library as '$libdir/<file>' (and install that library on the target), or drop it if unused; ${check}.`;
  }
  return undefined;
}

/**
 * Refuse, before anything is created on the target, a schema the target
 * cannot restore: each failing rule's objects and its fix on the source.
 */
export async function refuseUnrestorable(config: Config, source: Db, database: string): Promise<void> {
  const fails = (await withDb('target', config.target, {}, (target) => restoreProblems(source, target))).filter((p) => p.severity === 'fail');
  if (fails.length === 0) return;
  const shown = (objects: string[]): string => `${objects.slice(0, 10).join(', ')}${objects.length > 10 ? `, +${objects.length - 10} more` : ''}`;
  throw new ProblemError('schema_unrestorable', `the target cannot restore the schema of "${database}" as the source has it: ${fails.map((f) => `${f.title}: ${shown(f.objects)}`).join('; ')}`, {
    hint: `Nothing was created on the target. ${fails.map((f) => f.fix).join(' ')} Then run again; "pgshift check ${database}" lists them all.`,
    details: { problems: fails },
  });
}
