import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareSchemas, convertible, type ColumnInfo, type TargetTypes } from '../../src/checks/schema-compat.js';
import { reorderedByRestore } from '../../src/checks/restore.js';
import { adaptForTarget } from '../../src/initial-copy/dump-entries.js';

// A tiny target catalog: int4 23, int8 20, text 25, varchar 1043, int4[] 1007, int8[] 1016, a domain 9000 over int8.
const tt: TargetTypes = {
  byName: new Map<string, number | null>([['integer', 23], ['bigint', 20], ['text', 25], ['character varying', 1043], ['integer[]', 1007], ['bigint[]', 1016], ['app.big', 9000], ['app.gone', null]]),
  types: new Map([
    [23, { oid: 23, typtype: 'b', category: 'N', elem: 0, base: 0 }],
    [20, { oid: 20, typtype: 'b', category: 'N', elem: 0, base: 0 }],
    [25, { oid: 25, typtype: 'b', category: 'S', elem: 0, base: 0 }],
    [1043, { oid: 1043, typtype: 'b', category: 'S', elem: 0, base: 0 }],
    [1007, { oid: 1007, typtype: 'b', category: 'A', elem: 23, base: 0 }],
    [1016, { oid: 1016, typtype: 'b', category: 'A', elem: 20, base: 0 }],
    [9000, { oid: 9000, typtype: 'd', category: 'N', elem: 0, base: 20 }],
  ]),
  casts: new Map([['23>20', 'i'], ['1043>25', 'i'], ['20>23', 'a'], ['25>23', 'e']]),
};

test('convertible follows implicit/assignment casts, arrays, domains and string targets', () => {
  assert.equal(convertible(tt, 23, 20), 'yes');
  assert.equal(convertible(tt, 1043, 25), 'yes');
  assert.equal(convertible(tt, 1007, 1016), 'yes');
  assert.equal(convertible(tt, 25, 23), 'no');
  assert.equal(convertible(tt, 23, 9000), 'warn');
  assert.equal(convertible(tt, 9000, 20), 'yes');
  assert.equal(convertible(tt, 20, 25), 'yes');
});

function col(table: string, column: string, type: string, over: Partial<ColumnInfo> = {}): ColumnInfo {
  return { schema: 's', table, column, type, typeName: type.replace(/\(.*\)/, ''), typmod: -1, notNull: false, hasDefault: false, generated: false, identity: false, enumLabels: null, ...over };
}

test('compareSchemas reports every difference and fails only on the incompatible ones', () => {
  const r = compareSchemas(
    [{ schema: 's', name: 't' }, { schema: 's', name: 'missing' }],
    [col('t', 'id', 'integer'), col('t', 'name', 'character varying(20)', { typmod: 24 }), col('t', 'n', 'text'), col('t', 'gone', 'text'),
      col('t', 'g', 'integer', { generated: true }), col('t', 'e', 'app.mood', { enumLabels: ['a', 'b'] }), col('t', 'x', 'app.gone')],
    [col('t', 'id', 'bigint', { notNull: true }), col('t', 'name', 'character varying(10)', { typmod: 14 }), col('t', 'n', 'integer'),
      col('t', 'e', 'app.mood', { enumLabels: ['a'] }), col('t', 'x', 'text'), col('t', 'extra', 'text'), col('t', 'req', 'text', { notNull: true })],
    tt,
  );
  const v = Object.fromEntries(r.differences.map((d) => [`${d.table}.${d.column ?? ''}:${d.verdict}`, d.reason]));
  assert.ok('s.t.id:compatible' in v);
  assert.ok('s.t.id:warn' in v, 'NOT NULL on the target only');
  assert.ok('s.t.name:warn' in v, 'shorter varchar');
  assert.ok('s.t.n:incompatible' in v);
  assert.ok('s.t.gone:incompatible' in v);
  assert.ok('s.t.g:warn' in v);
  assert.match(v['s.t.e:incompatible']!, /"b"/);
  assert.match(v['s.t.x:incompatible']!, /does not exist on the target/);
  assert.ok('s.t.extra:compatible' in v);
  assert.ok('s.t.req:incompatible' in v);
  assert.ok('s.missing.:incompatible' in v);
  assert.equal(r.ok, false);
  assert.equal(r.typesDiffer, true);
});

test('adaptForTarget drops session settings an older target does not know', () => {
  const dump = "SET statement_timeout = 0;\nSET transaction_timeout = 0;\nCREATE TABLE t ();";
  assert.equal(adaptForTarget(dump, 16), "SET statement_timeout = 0;\nCREATE TABLE t ();");
  assert.equal(adaptForTarget(dump, 17), dump);
});

test('adaptForTarget drops the pg_attver column option a newer pg_dump copies from Debian 15.20, keeping the others', () => {
  const dump = [
    'ALTER TABLE ONLY public.t ALTER COLUMN a SET (pg_attver=166280840);',
    'ALTER TABLE ONLY public.t ALTER COLUMN b SET (n_distinct=-1, pg_attver=166280840);',
    'ALTER TABLE ONLY public.t ALTER COLUMN c SET (n_distinct=100);',
    'ALTER FOREIGN TABLE ONLY public.f ALTER COLUMN a SET (pg_attver=1);',
  ].join('\n');
  assert.equal(adaptForTarget(dump, 17), [
    'ALTER TABLE ONLY public.t ALTER COLUMN b SET (n_distinct=-1);',
    'ALTER TABLE ONLY public.t ALTER COLUMN c SET (n_distinct=100);',
  ].join('\n'));
});

test('reorderedByRestore: parents\' restored columns first, merged by name, recursively; unchanged tables are not named', () => {
  const t = (oid: string, name: string, columns: string[], parents: string[] = []) => ({ oid, schema: 'public', name, columns, parents });
  const moved = reorderedByRestore([
    t('1', 'a', ['class', 'aa', 'a']),
    t('2', 'b', ['class', 'aa', 'bb', 'a'], ['1']),
    t('3', 'c', ['class', 'aa', 'a', 'cc'], ['1']),
    t('4', 'd', ['class', 'aa', 'bb', 'cc', 'dd', 'a'], ['2', '3']),
  ]);
  assert.deepEqual(moved.map((m) => [m.table.name, m.restored]), [
    ['b', ['class', 'aa', 'a', 'bb']],
    ['d', ['class', 'aa', 'a', 'bb', 'cc', 'dd']],
  ]);
});
