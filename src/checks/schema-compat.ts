// `schema DB --existing`: the user provisioned the target schema themselves
// (already migrated to wider types, extra columns...). Nothing is applied;
// this checks that logical replication can write every replicated source
// table into it, and reports every difference.
//
// The rules, per replicated source table (exclude list and extension-owned
// tables left out, as `start` publishes them):
// - the table exists on the target, else incompatible;
// - every source column exists on the target (generated source columns are
//   not replicated, so a missing one only warns), with a type the source type
//   converts to implicitly or by assignment on the TARGET (pg_cast
//   castcontext i/a, same type, array of convertible elements, a domain over
//   a convertible type, or any type into a string type, which PostgreSQL
//   treats as an assignment cast); enums must have every source label;
// - target-only columns must be nullable, have a default, or be generated /
//   identity, else every replicated insert would fail;
// - a target NOT NULL where the source allows NULL, or a smaller length or
//   precision, is a warning: it works until a row breaks it.
// Types are compared by format_type() text since OIDs differ between clusters.

import { silent, warning, type Emit } from '../events.js';
import type { Db } from '../pg/connect.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import { tableKey } from '../pg/catalog.js';

export type CompatVerdict = 'same' | 'compatible' | 'warn' | 'incompatible';

export interface CompatDifference {
  table: string;
  column?: string;
  sourceType?: string;
  targetType?: string;
  verdict: CompatVerdict;
  reason: string;
}

export interface CompatReport {
  /** No incompatible difference. */
  ok: boolean;
  /** Replicated source tables checked. */
  tables: number;
  /** Every difference found (verdict 'compatible' or worse), in table/column order. */
  differences: CompatDifference[];
  /**
   * Some column's type differs between the sides: a subscription must then
   * not use binary transfer (binary = true expects identical types).
   */
  typesDiffer: boolean;
}

export interface ColumnInfo {
  schema: string;
  table: string;
  column: string;
  type: string;
  typeName: string;
  typmod: number;
  notNull: boolean;
  hasDefault: boolean;
  generated: boolean;
  identity: boolean;
  enumLabels: string[] | null;
}

export async function readColumns(db: Db): Promise<ColumnInfo[]> {
  const rows = await db.query<Record<string, unknown>>(sqlFor('schema-columns', db.version));
  return rows.map((r) => ({
    schema: r.schema as string,
    table: r.table as string,
    column: r.column as string,
    type: r.type as string,
    typeName: r.type_name as string,
    typmod: Number(r.typmod),
    notNull: r.not_null as boolean,
    hasDefault: r.has_default as boolean,
    generated: r.generated as boolean,
    identity: r.identity as boolean,
    enumLabels: (r.enum_labels as string[] | null) ?? null,
  }));
}

interface TypeRow { oid: number; typtype: string; category: string; elem: number; base: number }

/** The target's types and casts, and name resolution for the source's type names. */
export interface TargetTypes {
  /** format_type name (no typmod) -> target oid, or null when unknown there. */
  byName: Map<string, number | null>;
  types: Map<number, TypeRow>;
  /** "source>target" -> castcontext */
  casts: Map<string, string>;
}

export async function readTargetTypes(target: Db, names: string[]): Promise<TargetTypes> {
  const resolved = await target.query<{ name: string; oid: string | null }>(sqlFile('schema-compat-types'), [names]);
  const rows = await target.query<Record<string, unknown>>(sqlFile('schema-compat-catalog'));
  const types = new Map<number, TypeRow>();
  const casts = new Map<string, string>();
  for (const r of rows) {
    if (r.kind === 'type') {
      types.set(Number(r.oid), { oid: Number(r.oid), typtype: r.typtype as string, category: r.category as string, elem: Number(r.elem), base: Number(r.base) });
    } else {
      casts.set(`${r.source}>${r.target}`, r.context as string);
    }
  }
  return { byName: new Map(resolved.map((r) => [r.name, r.oid === null ? null : Number(r.oid)])), types, casts };
}

/**
 * Can a value of type `from` be stored in a column of type `to` without an
 * explicit cast? 'warn' when it can but may be rejected (into a domain).
 */
export function convertible(tt: TargetTypes, from: number, to: number, depth = 0): 'yes' | 'warn' | 'no' {
  if (from === to) return 'yes';
  if (depth > 5) return 'no';
  const f = tt.types.get(from);
  const t = tt.types.get(to);
  if (!f || !t) return 'no';
  // A domain value converts as its base type.
  if (f.typtype === 'd') return convertible(tt, f.base, to, depth + 1);
  // Into a domain: its CHECK constraints may reject values the source accepted.
  if (t.typtype === 'd') return convertible(tt, from, t.base, depth + 1) === 'no' ? 'no' : 'warn';
  const ctx = tt.casts.get(`${from}>${to}`);
  if (ctx === 'i' || ctx === 'a') return 'yes';
  if (f.category === 'A' && t.category === 'A' && f.elem && t.elem) return convertible(tt, f.elem, t.elem, depth + 1);
  // Automatic I/O conversion into a string type counts as an assignment cast.
  if (t.category === 'S') return 'yes';
  return 'no';
}

/** Compare source and target columns of the replicated tables (pure: tested without a server). */
export function compareSchemas(
  replicated: { schema: string; name: string }[],
  sourceCols: ColumnInfo[],
  targetCols: ColumnInfo[],
  tt: TargetTypes,
): CompatReport {
  const group = (cols: ColumnInfo[]): Map<string, ColumnInfo[]> => {
    const m = new Map<string, ColumnInfo[]>();
    for (const c of cols) {
      const k = tableKey({ schema: c.schema, name: c.table });
      if (!m.has(k)) m.set(k, []);
      m.get(k)!.push(c);
    }
    return m;
  };
  const src = group(sourceCols);
  const tgt = group(targetCols);
  const differences: CompatDifference[] = [];
  let typesDiffer = false;
  for (const t of replicated) {
    const table = tableKey(t);
    const scols = src.get(table) ?? [];
    const tcols = tgt.get(table);
    if (!tcols) {
      differences.push({ table, verdict: 'incompatible', reason: 'table missing on the target' });
      continue;
    }
    const tByName = new Map(tcols.map((c) => [c.column, c]));
    const sNames = new Set(scols.map((c) => c.column));
    for (const s of scols) {
      const c = tByName.get(s.column);
      const base = { table, column: s.column, sourceType: s.type };
      if (!c) {
        differences.push(s.generated
          ? { ...base, verdict: 'warn', reason: 'generated column missing on the target (generated columns are not replicated)' }
          : { ...base, verdict: 'incompatible', reason: 'column missing on the target' });
        continue;
      }
      const withTarget = { ...base, targetType: c.type };
      if (c.generated && !s.generated) {
        differences.push({ ...withTarget, verdict: 'incompatible', reason: 'generated on the target but replicated from the source: the apply worker cannot write it' });
        continue;
      }
      if (s.type !== c.type) typesDiffer = true;
      const typeVerdict = compareType(s, c, tt);
      if (typeVerdict) differences.push({ ...withTarget, ...typeVerdict });
      if (c.notNull && !s.notNull && !s.generated) {
        differences.push({ ...withTarget, verdict: 'warn', reason: 'NOT NULL on the target but nullable on the source: a NULL from the source stops replication' });
      }
    }
    for (const c of tcols) {
      if (sNames.has(c.column)) continue;
      const fillable = !c.notNull || c.hasDefault || c.generated || c.identity;
      differences.push({
        table, column: c.column, targetType: c.type,
        verdict: fillable ? 'compatible' : 'incompatible',
        reason: fillable ? 'extra column on the target (nullable or with a default)' : 'extra NOT NULL column on the target without a default: replicated inserts would fail',
      });
    }
  }
  return { ok: !differences.some((d) => d.verdict === 'incompatible'), tables: replicated.length, differences, typesDiffer };
}

function compareType(s: ColumnInfo, c: ColumnInfo, tt: TargetTypes): Omit<CompatDifference, 'table'> | undefined {
  if (s.type === c.type) {
    if (s.enumLabels && c.enumLabels) {
      const missing = s.enumLabels.filter((l) => !c.enumLabels!.includes(l));
      if (missing.length) return { verdict: 'incompatible', reason: `enum labels missing on the target: ${missing.map((l) => JSON.stringify(l)).join(', ')}` };
    }
    return undefined;
  }
  if (s.typeName === c.typeName) {
    // Same type, different length/precision: fine when the target is unbounded.
    if (c.typmod === -1) return { verdict: 'compatible', reason: 'same type without a length/precision limit on the target' };
    if (s.typmod !== -1 && c.typmod >= s.typmod && /^(character varying|character|bit varying)\b/.test(s.typeName)) {
      return { verdict: 'compatible', reason: 'longer on the target' };
    }
    return { verdict: 'warn', reason: 'length/precision differs: values that do not fit will stop replication' };
  }
  const from = tt.byName.get(s.typeName);
  const to = tt.byName.get(c.typeName);
  if (from === undefined || from === null) return { verdict: 'incompatible', reason: `type ${s.typeName} does not exist on the target` };
  if (to === undefined || to === null) return { verdict: 'incompatible', reason: `type ${c.typeName} not resolvable on the target` };
  const v = convertible(tt, from, to);
  if (v === 'yes') return { verdict: 'compatible', reason: 'converts implicitly or by assignment' };
  if (v === 'warn') return { verdict: 'warn', reason: 'converts into a domain whose constraints may reject source values' };
  return { verdict: 'incompatible', reason: `no implicit or assignment cast from ${s.typeName} to ${c.typeName}` };
}

/** Run the check: columns from both sides, types and casts from the target. */
export async function checkCompatibility(
  source: Db,
  target: Db,
  replicated: { schema: string; name: string }[],
  emit: Emit = silent,
): Promise<CompatReport> {
  const [sourceCols, targetCols] = await Promise.all([readColumns(source), readColumns(target)]);
  const names = [...new Set([...sourceCols, ...targetCols].map((c) => c.typeName))];
  const tt = await readTargetTypes(target, names);
  const report = compareSchemas(replicated, sourceCols, targetCols, tt);
  for (const d of report.differences) {
    if (d.verdict === 'warn') emit(warning('column_may_reject', `${d.table}${d.column ? '.' + d.column : ''}: ${d.reason}`));
  }
  return report;
}
