// Objects an older source allows that the target's version cannot restore
// (or restores without something the application uses). `check` reports
// each as a fail naming every object and the change to make on the source;
// `schema` and the fast copy refuse before they create anything (preflight.ts).
//
// Rules, each one query in src/pg/sql/legacy-*.sql:
//   - with-oids: tables WITH OIDS (sources before 12): pg_dump 12+ dumps them
//     without the oid column, with only a warning, so every query reading
//     it fails on the target;
//   - types: built-in types the user's objects use and the target no longer
//     has (abstime, reltime, tinterval: removed in 12);
//   - postfix operators (removed in 14);
//   - routines: built-in functions and operators that views, defaults,
//     constraints, index expressions, trigger conditions, policies and user
//     aggregates, operators and casts use, and the target no longer has in
//     that form (the factorial ! and !!, geometric @ and ~, aggregates over
//     array_append(anyarray, anyelement): 14);
//   - catalog views: views reading a system catalog column the target no
//     longer has (pg_class.relhasoids: 12).
// Each rule asks the target what it has, so it holds for any pair of versions.
//
// Read-only on both clusters.

import { ProblemError } from '../errors.js';
import type { Db } from '../pg/connect.js';
import { qualify } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';

export interface LegacyProblem {
  /** Stable identifier: legacy.with-oids, legacy.types, legacy.postfix-operators, legacy.routines, legacy.catalog-views. */
  id: string;
  severity: 'fail';
  title: string;
  /** The title in a few words, for a refusal that names every problem. */
  short: string;
  /** The objects concerned, unquoted, with what each uses. */
  objects: string[];
  /** What to change on the source. */
  fix: string;
}

/** What replaces a removed built-in type, as the USING clause of ALTER COLUMN ... TYPE. */
const TYPE_REPLACEMENTS: Record<string, { type: string; using: (col: string) => string }> = {
  abstime: { type: 'timestamptz', using: (c) => `${c}::timestamptz` },
  reltime: { type: 'interval', using: (c) => `${c}::interval` },
  tinterval: { type: 'tstzrange', using: (c) => `tstzrange(tintervalstart(${c}), tintervalend(${c}), '[]')` },
};

/** What to use instead of a removed built-in routine (by name), for the fix text. */
const ROUTINE_REPLACEMENTS: [RegExp, string][] = [
  [/^(!|!!)\(|^numeric_fac\(/, 'factorial(n) instead of n ! and !! n'],
  [/^@\(/, '<@ instead of @ (contained in)'],
  [/^~\(/, '@> instead of ~ (contains)'],
  [/^(array_append|array_prepend|array_cat|array_position|array_positions|array_remove|array_replace|width_bucket)\(any/, 'array_agg() instead of an aggregate over array_append (or drop the aggregate on the source and create it on the target over anycompatiblearray after pgshift schema)'],
];

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

async function withOids(source: Db): Promise<LegacyProblem[]> {
  if (!featuresOf(source.version).tableOidsAndOldTimeTypes) return [];
  const rows = await source.query<{ schema: string; name: string }>(sqlFile('legacy-with-oids'));
  if (rows.length === 0) return [];
  const first = rows[0]!;
  return [{
    id: 'legacy.with-oids', severity: 'fail', short: plural(rows.length, 'table') + ' WITH OIDS',
    title: `${plural(rows.length, 'table')} WITH OIDS: PostgreSQL 12 and later have no such tables, and pg_dump copies them without their oid column, so whatever reads it would fail on the target`,
    objects: rows.map((r) => `${r.schema}.${r.name}`),
    fix: `On the source, once nothing reads the oid column (give the table a key column of its own if it needs one): ALTER TABLE ${qualify(first.schema, first.name)} SET WITHOUT OIDS; for each table.`,
  }];
}

async function removedTypes(source: Db, target: Db): Promise<LegacyProblem[]> {
  const uses = await source.query<{ object: string; type: string }>(sqlFile('legacy-builtin-types'));
  if (uses.length === 0) return [];
  const types = [...new Set(uses.map((u) => u.type))];
  const missing = new Set((await target.query<{ type: string }>(sqlFile('legacy-missing-types'), [types])).map((r) => r.type));
  const bad = uses.filter((u) => missing.has(u.type));
  if (bad.length === 0) return [];
  const column = bad.find((u) => u.object.startsWith('table column '));
  const base = (t: string): string => t.replace(/\[\]$/, '');
  let example = '';
  if (column) {
    const parts = column.object.slice('table column '.length);
    const col = parts.slice(parts.lastIndexOf('.') + 1);
    const table = parts.slice(0, parts.lastIndexOf('.'));
    const r = TYPE_REPLACEMENTS[base(column.type)];
    if (r && !column.type.endsWith('[]')) {
      // sql-lint: safe (advice for people; pg_identify_object quotes the names)
      example = ` e.g. ALTER TABLE ${table} ALTER COLUMN ${col} TYPE ${r.type} USING ${r.using(col)};`;
    }
  }
  const replacements = [...new Set(bad.map((u) => base(u.type)))].map((t) => TYPE_REPLACEMENTS[t] ? `${t} -> ${TYPE_REPLACEMENTS[t]!.type}` : undefined).filter(Boolean);
  return [{
    id: 'legacy.types', severity: 'fail', short: `${plural(bad.length, 'object')} using ${[...missing].join(', ')}`,
    title: `${plural(bad.length, 'object')} of the source use${bad.length === 1 ? 's' : ''} ${[...missing].join(', ')}, which PostgreSQL ${target.version.major} does not have: they cannot be restored there`,
    objects: bad.map((u) => `${u.object} (${u.type})`),
    // sql-lint: safe (advice for people, not SQL pgshift runs)
    fix: `On the source, move each to a type the target has${replacements.length ? ` (${replacements.join(', ')})` : ''}:${example || ' ALTER TABLE ... ALTER COLUMN ... TYPE ... USING ...;'} functions, domains and composite types using them must be recreated with the new type.`,
  }];
}

async function postfixOperators(source: Db, target: Db): Promise<LegacyProblem[]> {
  if (!featuresOf(source.version).postfixOperators || featuresOf(target.version).postfixOperators) return [];
  const rows = await source.query<{ signature: string; function: string }>(sqlFile('legacy-postfix-operators'));
  if (rows.length === 0) return [];
  return [{
    id: 'legacy.postfix-operators', severity: 'fail', short: plural(rows.length, 'postfix operator'),
    title: `${plural(rows.length, 'postfix operator')} (no right operand): PostgreSQL 14 and later have none, so ${rows.length === 1 ? 'it' : 'they'} cannot be restored on ${target.version.major}`,
    objects: rows.map((r) => `operator ${r.signature} (calls ${r.function})`),
    // sql-lint: safe (advice for people, not SQL pgshift runs)
    fix: `On the source, drop each (DROP OPERATOR ${rows[0]!.signature};) and call its function instead, or make it a prefix operator (RIGHTARG only); change the views and functions that use it first.`,
  }];
}

async function removedRoutines(source: Db, target: Db): Promise<LegacyProblem[]> {
  type Use = { object: string; kind: string; signature: string; exact: boolean; name: string; args: (string | null)[] };
  const uses = await source.query<Use>(sqlFile('legacy-builtin-routines'));
  if (uses.length === 0) return [];
  const distinct = [...new Map(uses.map((u) => [`${u.kind} ${u.signature} ${u.exact}`, u])).values()]
    .map(({ kind, signature, exact, name, args }) => ({ kind, signature, exact, name, args }));
  const missing = new Set((await target.query<{ kind: string; signature: string; exact: boolean }>(sqlFile('legacy-missing-routines'), [JSON.stringify(distinct)]))
    .map((r) => `${r.kind} ${r.signature} ${r.exact}`));
  const bad = uses.filter((u) => missing.has(`${u.kind} ${u.signature} ${u.exact}`));
  if (bad.length === 0) return [];
  const objects = [...new Set(bad.map((u) => u.object))];
  const hints = [...new Set(bad.flatMap((u) => ROUTINE_REPLACEMENTS.filter(([re]) => re.test(u.signature)).map(([, h]) => h)))];
  return [{
    id: 'legacy.routines', severity: 'fail', short: `${plural(objects.length, 'object')} using removed built-in functions or operators`,
    title: `${plural(objects.length, 'object')} of the source use${objects.length === 1 ? 's' : ''} built-in functions or operators PostgreSQL ${target.version.major} no longer has in that form: ${objects.length === 1 ? 'it' : 'they'} cannot be restored there`,
    objects: objects.map((o) => `${o} (${bad.filter((u) => u.object === o).map((u) => `${u.kind} ${u.signature}`).join(', ')})`),
    fix: `On the source, redefine each without them${hints.length ? `: ${hints.join('; ')}` : ''} (CREATE OR REPLACE VIEW ..., ALTER TABLE ... ALTER COLUMN ... SET DEFAULT ..., or drop and recreate the object).`,
  }];
}

async function catalogViews(source: Db, target: Db): Promise<LegacyProblem[]> {
  const views = await source.query<{ object: string; relation: string; columns: string[]; definition: string }>(sqlFile('legacy-catalog-views'));
  if (views.length === 0) return [];
  const relations = [...new Set(views.map((v) => v.relation))];
  const onTarget = new Map((await target.query<{ relation: string; columns: string[] | null }>(sqlFile('legacy-catalog-columns'), [relations]))
    .map((r) => [r.relation, r.columns === null ? null : new Set(r.columns)]));
  const found: string[] = [];
  for (const v of views) {
    const have = onTarget.get(v.relation);
    if (have === null) {
      found.push(`${v.object} (${v.relation}, which the target does not have)`);
      continue;
    }
    // Catalog columns are plain lower-case identifiers: a word match in the definition is the use.
    const gone = v.columns.filter((c) => !have?.has(c) && new RegExp(`(^|[^a-z0-9_$])${c}($|[^a-z0-9_$])`).test(v.definition));
    if (gone.length) found.push(`${v.object} (${gone.map((c) => `${v.relation}.${c}`).join(', ')})`);
  }
  if (found.length === 0) return [];
  return [{
    id: 'legacy.catalog-views', severity: 'fail', short: `${plural(found.length, 'view')} reading removed catalog columns`,
    title: `${plural(found.length, 'view')} of the source read${found.length === 1 ? 's' : ''} system catalog columns PostgreSQL ${target.version.major} no longer has: ${found.length === 1 ? 'it' : 'they'} cannot be restored there`,
    objects: found,
    // sql-lint: safe (advice for people, not SQL pgshift runs)
    fix: `On the source, redefine each view without those columns (CREATE OR REPLACE VIEW, or DROP VIEW and create it again on the target after the schema step), using what PostgreSQL ${target.version.major} offers instead.`,
  }];
}

/** Every legacy problem of one source database against the target (connected to any of its databases). */
export async function legacyProblems(source: Db, target: Db): Promise<LegacyProblem[]> {
  return [
    ...await withOids(source),
    ...await removedTypes(source, target),
    ...await postfixOperators(source, target),
    ...await removedRoutines(source, target),
    ...await catalogViews(source, target),
  ];
}

/** Refuse (before any change) a source database holding objects the target cannot restore. */
export async function refuseLegacyObjects(source: Db, target: Db): Promise<void> {
  const problems = await legacyProblems(source, target);
  if (problems.length === 0) return;
  throw new ProblemError('legacy_objects', `database "${source.database}" holds objects PostgreSQL ${target.version.major} cannot restore as they are: ${problems.map((p) => p.short).join('; ')}`, {
    hint: `"pgshift check ${source.database}" names every object and the change to make on the source. Nothing was changed.`,
    details: { problems },
  });
}
