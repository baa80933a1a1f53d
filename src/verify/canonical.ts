// The canonical form verify compares, and the SQL that computes it inside the
// database. Both sides render every value as text under the same session
// settings, so the text (and its md5) depends on the data only, not on the
// server version or the user's defaults. What still differs between versions
// is documented in docs/verify-load.md ("Canonical form").

import { qualify, quoteIdent, quoteIdentList } from '../pg/quote.js';
import { featuresOf, type ServerVersion } from '../pg/version.js';

/**
 * Session settings for every verify connection, on both sides.
 * - TimeZone/DateStyle/IntervalStyle fix the text of date/time types.
 * - extra_float_digits: from PostgreSQL 12 any value > 0 prints the shortest
 *   text that reads back exactly; 11 and older printed %.17g with 3. Both
 *   print %.15g (%.6g for float4) with 0, so a pair with a side older than
 *   12 compares floats to 15 significant digits, others exactly.
 * - bytea_output=hex, lc_monetary=C: the defaults, but a role or database may override them.
 * - search_path=pg_catalog: format_type() then qualifies every user type, and
 *   nothing the user defines can shadow the functions used here.
 * - jit=off (11+): JIT compilation costs more than it saves on range-sized queries.
 * - read only: verify never writes.
 */
export function sessionSettingsSql(side: ServerVersion, other: ServerVersion): string {
  const floatDigitsSql = featuresOf(side).shortestFloatText && featuresOf(other).shortestFloatText ? '3' : '0';
  return [
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    `SET extra_float_digits = ${floatDigitsSql}`,
    "SET bytea_output = 'hex'",
    "SET lc_monetary = 'C'",
    'SET search_path = pg_catalog',
    ...(featuresOf(side).jit ? ['SET jit = off'] : []),
    'SET statement_timeout = 0',
    'SET default_transaction_read_only = on',
  ].join('; ');
}

/**
 * How a row's canonical text becomes 64 bits:
 * - hashtextextended: PostgreSQL's hash for hash partitioning (11+). Hash
 *   partitions survive pg_upgrade, so it cannot change between versions; it
 *   does depend on byte order, so verify uses it only when both servers give
 *   the same answer for a probe string (see chooseRowHash). About 2x faster than md5.
 * - md5: stable everywhere; the fallback.
 * - md5-utf8: md5 of the UTF-8 bytes, when the two databases' encodings differ.
 */
export type RowHash = 'hashtextextended' | 'md5' | 'md5-utf8';

/** The server encoding, and hashtextextended of a probe string (NULL on 10, which has no hashtextextended). */
export function rowHashProbeSql(v: ServerVersion): string {
  const probeSql = featuresOf(v).hashTextExtended ? "hashtextextended('pgshift verify probe: ü 表 ' || repeat('x', 100), 0)::text" : 'NULL::text';
  return `SELECT current_setting('server_encoding') AS encoding, ${probeSql} AS probe`;
}

export function chooseRowHash(source: { encoding: string; probe: string | null }, target: { encoding: string; probe: string | null }): RowHash {
  if (source.encoding !== target.encoding) return 'md5-utf8';
  return source.probe !== null && source.probe === target.probe ? 'hashtextextended' : 'md5';
}

export interface ColumnInfo {
  name: string;
  /** format_type() on this side, schema-qualified. */
  type: string;
  keyPosition: number | null;
}

/** A key range: lo inclusive, hi exclusive; null is unbounded. Values are key texts. */
export interface KeyRange {
  lo: string[] | null;
  hi: string[] | null;
}

export const WHOLE: KeyRange = { lo: null, hi: null };

export interface SqlText {
  text: string;
  params: unknown[];
}

/**
 * The queries for one table on one side. Column names come from the source;
 * key casts use this side's own types, so a wider type on the target (int4 ->
 * int8) still compares by value.
 */
export class TableQueries {
  readonly relationSql: string;

  constructor(
    readonly schema: string,
    readonly name: string,
    /** Columns compared, in the source's order. */
    readonly columns: string[],
    /**
     * Key columns in key order, with this side's types; empty for a key-less
     * table. A type is format_type() text, used in casts as it is: already
     * valid SQL (quoted where needed, schema-qualified under search_path =
     * pg_catalog), with its typmod, which the value's own column has (or the
     * other side's, which a compatible target never makes narrower); without
     * it char(10) or bit(5) would become their 1-wide defaults.
     */
    readonly key: { name: string; type: string }[],
    readonly hash: RowHash = 'hashtextextended',
    /**
     * Read the table's own rows only (FROM ONLY): an ordinary table that is an
     * inheritance parent would otherwise count its children's rows too, which
     * verify compares as tables of their own (and some of which are copied at
     * switchover). Never for a partitioned table: its rows are its partitions'.
     */
    only = false,
  ) {
    this.relationSql = `${only ? 'ONLY ' : ''}${qualify(schema, name)}`;
  }

  /** The row as one text value: a record of the compared columns. */
  rowTextSql(): string {
    return `ROW(${quoteIdentList(this.columns)})::text`;
  }

  /** A 64-bit hash of the canonical row text, as int8. */
  rowHashSql(): string {
    const rowSql = this.rowTextSql();
    switch (this.hash) {
      case 'hashtextextended':
        return `hashtextextended(${rowSql}, 0)`;
      case 'md5':
        return `('x' || substr(md5(${rowSql}), 1, 16))::bit(64)::int8`;
      case 'md5-utf8':
        return `('x' || substr(md5(convert_to(${rowSql}, 'UTF8')), 1, 16))::bit(64)::int8`;
    }
  }

  private keyListSql(): string {
    return `(${quoteIdentList(this.key.map((k) => k.name))})`;
  }

  private keyTextArraySql(): string {
    return `ARRAY[${this.key.map((k) => `${quoteIdent(k.name)}::text`).join(', ')}]`;
  }

  private keyOrderSql(desc = false): string {
    return this.key.map((k) => quoteIdent(k.name) + (desc ? ' DESC' : '')).join(', ');
  }

  private boundSql(values: string[], firstParam: number): string {
    return `(${this.key.map((k, i) => `$${firstParam + i}::${k.type}`).join(', ')})`;
  }

  /** WHERE clause (or '') for a range; parameters start at $firstParam. */
  rangeWhere(range: KeyRange, firstParam = 1): SqlText {
    const parts: string[] = [];
    const params: unknown[] = [];
    if (range.lo) {
      parts.push(`${this.keyListSql()} >= ${this.boundSql(range.lo, firstParam + params.length)}`);
      params.push(...range.lo);
    }
    if (range.hi) {
      parts.push(`${this.keyListSql()} < ${this.boundSql(range.hi, firstParam + params.length)}`);
      params.push(...range.hi);
    }
    // sql-lint: safe (each part is quoted identifiers compared with $n placeholders)
    return { text: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', params };
  }

  /**
   * Row count and an order-independent hash of a range: the sum of each
   * row's 64-bit hash. Being a sum, no sort is needed, and it is a multiset
   * hash, so it also serves key-less tables (duplicates count).
   */
  rangeHash(range: KeyRange): SqlText {
    const { text: whereSql, params } = this.rangeWhere(range);
    const hashSql = this.rowHashSql();
    return {
      text: `SELECT count(*)::int8 AS n, coalesce(sum(${hashSql}), 0)::text AS h FROM ${this.relationSql}${whereSql}`,
      params,
    };
  }

  /** Key texts and row md5 of every row in a small range (a bisect leaf). */
  leafRows(range: KeyRange): SqlText {
    const { text: whereSql, params } = this.rangeWhere(range);
    const hashSql = this.rowHashSql();
    return {
      text: `SELECT ${this.keyTextArraySql()} AS k, ${hashSql}::text AS h FROM ${this.relationSql}${whereSql}`,
      params,
    };
  }

  /** Up to `parts - 1` keys that cut a range into about equal parts (one scan of the range). */
  splitPoints(range: KeyRange, step: number): SqlText {
    const { text: whereSql, params: whereParams } = this.rangeWhere(range, 2);
    const keyOrderSql = this.keyOrderSql();
    return {
      text: `SELECT k FROM (SELECT ${this.keyTextArraySql()} AS k, row_number() OVER (ORDER BY ${keyOrderSql}) AS rn FROM ${this.relationSql}${whereSql}) s WHERE rn > 1 AND rn % $1 = 1 ORDER BY rn`,
      params: [step, ...whereParams],
    };
  }

  /**
   * Range boundaries from a block sample of the table: every `step`-th key
   * of the sorted sample. $1 is the sample percentage.
   */
  sampledBoundaries(percent: number, step: number): SqlText {
    const keyOrderSql = this.keyOrderSql();
    return {
      text: `SELECT k FROM (SELECT ${this.keyTextArraySql()} AS k, row_number() OVER (ORDER BY ${keyOrderSql}) AS rn FROM ${this.relationSql} TABLESAMPLE SYSTEM ($1)) s WHERE rn % $2 = 0 ORDER BY rn`,
      params: [percent, step],
    };
  }

  /** Keys of about `limit` random rows (block sample of `percent`, then shuffled). */
  randomKeys(percent: number, limit: number): SqlText {
    return {
      text: `SELECT ${this.keyTextArraySql()} AS k FROM ${this.relationSql} TABLESAMPLE SYSTEM ($1) ORDER BY random() LIMIT $2`,
      params: [percent, limit],
    };
  }

  /** Keys of the last `limit` rows by key. */
  lastKeys(limit: number): SqlText {
    return {
      text: `SELECT ${this.keyTextArraySql()} AS k FROM ${this.relationSql} ORDER BY ${this.keyOrderSql(true)} LIMIT $1`,
      params: [limit],
    };
  }

  /**
   * Every compared column as text for the given keys (looked up by equality,
   * which does not depend on collation order). One array parameter per key column.
   */
  rowsByKeys(keys: string[][]): SqlText {
    const alias = this.key.map((_, i) => `k${i + 1}`);
    const aliasSql = alias.join(', ');
    const unnestArgsSql = this.key.map((_, i) => `$${i + 1}::text[]`).join(', ');
    const castsSql = this.key.map((k, i) => `u.${alias[i]}::${k.type}`).join(', ');
    const valuesSql = `ARRAY[${this.columns.map((c) => `${quoteIdent(c)}::text`).join(', ')}]`;
    const params = this.key.map((_, i) => keys.map((k) => k[i]!));
    return {
      text: `SELECT ${this.keyTextArraySql()} AS k, ${valuesSql} AS v FROM ${this.relationSql} WHERE ${this.keyListSql()} IN (SELECT ${castsSql} FROM unnest(${unnestArgsSql}) AS u(${aliasSql}))`,
      params,
    };
  }

  count(): SqlText {
    return { text: `SELECT count(*)::int8 AS n FROM ${this.relationSql}`, params: [] };
  }
}

/** Key texts as a record for reports: { id: "5" }. */
export function keyRecord(keyNames: string[], values: string[]): Record<string, string> {
  return Object.fromEntries(keyNames.map((n, i) => [n, values[i]!]));
}

/** "id=5, region=eu" for human output. */
export function formatKey(key: Record<string, string>): string {
  return Object.entries(key).map(([k, v]) => `${k}=${v}`).join(', ');
}
