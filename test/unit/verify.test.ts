// Pure parts of verify and load: the SQL verify builds (quoting, parameter
// numbering, hash choice), the --tables splitter, and ledger line parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TableQueries, chooseRowHash, formatKey, keyRecord, rowHashProbeSql, sessionSettingsSql } from '../../src/verify/canonical.js';
import { versionFromNum } from '../../src/pg/version.js';
import { splitTableList } from '../../src/verify/index.js';
import { parseLedgerLine } from '../../src/load/ledger.js';
import { PgshiftError } from '../../src/errors.js';

const hostile = new TableQueries('it\'s; DROP', 'a"b', ['id', 'we"ird', 'v'], [{ name: 'id', type: 'integer' }, { name: 'we"ird', type: '"my schema".t' }]);

test('range predicates quote every name and number parameters from where asked', () => {
  const w = hostile.rangeWhere({ lo: ['1', 'x'], hi: ['5', 'y'] }, 3);
  assert.equal(w.text, ' WHERE ("id", "we""ird") >= ($3::integer, $4::"my schema".t) AND ("id", "we""ird") < ($5::integer, $6::"my schema".t)');
  assert.deepEqual(w.params, ['1', 'x', '5', 'y']);
  assert.equal(hostile.rangeWhere({ lo: null, hi: null }).text, '');
  const split = hostile.splitPoints({ lo: ['1', 'x'], hi: null }, 10);
  assert.deepEqual(split.params, [10, '1', 'x']);
  assert.match(split.text, /FROM "it's; DROP"\."a""b" WHERE \("id", "we""ird"\) >= \(\$2::integer, \$3::"my schema"\.t\)/);
});

test('range hash sums a 64-bit row hash; md5 fallbacks when the servers disagree', () => {
  assert.match(hostile.rangeHash({ lo: null, hi: null }).text, /sum\(hashtextextended\(ROW\("id", "we""ird", "v"\)::text, 0\)\)/);
  const md5 = new TableQueries('s', 't', ['a'], [], 'md5-utf8');
  assert.match(md5.rangeHash({ lo: null, hi: null }).text, /md5\(convert_to\(ROW\("a"\)::text, 'UTF8'\)\)/);
  assert.equal(chooseRowHash({ encoding: 'UTF8', probe: '1' }, { encoding: 'UTF8', probe: '1' }), 'hashtextextended');
  assert.equal(chooseRowHash({ encoding: 'UTF8', probe: '1' }, { encoding: 'UTF8', probe: '2' }), 'md5');
  assert.equal(chooseRowHash({ encoding: 'LATIN1', probe: '1' }, { encoding: 'UTF8', probe: '1' }), 'md5-utf8');
  // PostgreSQL 10 has no hashtextextended: its probe is NULL, and md5 is used.
  assert.match(rowHashProbeSql(versionFromNum(100023)), /NULL::text AS probe/);
  assert.equal(chooseRowHash({ encoding: 'UTF8', probe: null }, { encoding: 'UTF8', probe: null }), 'md5');
});

test('session settings: exact floats between 12+ servers, 15 digits with a 10/11 side; jit only where it exists', () => {
  const [v10, v11, v12, v18] = [100023, 110022, 120022, 180004].map((n) => versionFromNum(n)) as [ReturnType<typeof versionFromNum>, ReturnType<typeof versionFromNum>, ReturnType<typeof versionFromNum>, ReturnType<typeof versionFromNum>];
  assert.match(sessionSettingsSql(v12, v18), /extra_float_digits = 3/);
  assert.match(sessionSettingsSql(v18, v11), /extra_float_digits = 0/);
  assert.match(sessionSettingsSql(v11, v18), /extra_float_digits = 0/);
  assert.doesNotMatch(sessionSettingsSql(v10, v18), /jit/);
  assert.match(sessionSettingsSql(v18, v10), /SET jit = off/);
});

test('rows are fetched by key equality with one text array per key column', () => {
  const q = hostile.rowsByKeys([['1', 'a'], ['2', 'b']]);
  assert.deepEqual(q.params, [['1', '2'], ['a', 'b']]);
  assert.match(q.text, /IN \(SELECT u\.k1::integer, u\.k2::"my schema"\.t FROM unnest\(\$1::text\[\], \$2::text\[\]\) AS u\(k1, k2\)\)/);
});

test('--tables splits on commas outside double quotes', () => {
  assert.deepEqual(splitTableList('public.a, "x,y".b ,s.*'), ['public.a', '"x,y".b', 's.*']);
  assert.deepEqual(splitTableList(''), []);
});

test('keys render as records and text', () => {
  const k = keyRecord(['region', 'id'], ['eu', '5']);
  assert.deepEqual(k, { region: 'eu', id: '5' });
  assert.equal(formatKey(k), 'region=eu, id=5');
});

test('ledger lines: run headers, ids, blanks; anything else names file and line', () => {
  assert.deepEqual(parseLedgerLine('# pgshift load run 0b7a3c52-2f4e-4a8e-9d0c-1f2e3d4c5b6a 2026-01-01T00:00:00Z', 'f', 1), { kind: 'run', run: '0b7a3c52-2f4e-4a8e-9d0c-1f2e3d4c5b6a' });
  assert.deepEqual(parseLedgerLine('0b7a3c52-2f4e-4a8e-9d0c-1f2e3d4c5b6a', 'f', 2), { kind: 'id', id: '0b7a3c52-2f4e-4a8e-9d0c-1f2e3d4c5b6a' });
  assert.deepEqual(parseLedgerLine('  ', 'f', 3), { kind: 'blank' });
  assert.throws(() => parseLedgerLine('DROP TABLE x', 'ledger.txt', 4), (e: unknown) => e instanceof PgshiftError && /ledger\.txt:4/.test(e.message) && e.exitCode === 1);
});
