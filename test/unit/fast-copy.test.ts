// Pure pieces of the fast copy: table-of-contents parsing, range splitting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutPoints, partsFor } from '../../src/initial-copy/plan.js';
import { copyInSql, copyOutSql } from '../../src/initial-copy/pipe.js';
import { parseToc } from '../../src/initial-copy/schema-sections.js';

test('parseToc reads entry id, catalog, oid and the multi-word type', () => {
  const toc = parseToc([
    ';',
    '; Selected TOC Entries:',
    '3350; 2606 16420 CONSTRAINT public pgbench_accounts pgbench_accounts_pkey postgres',
    '3352; 2606 16430 FK CONSTRAINT public pgbench_accounts pgbench_accounts_bid_fkey postgres',
    '3340; 1259 16440 INDEX app events_kind_idx postgres',
    '3341; 0 0 INDEX ATTACH app events_2023_kind_idx postgres',
    '3360; 2620 16450 TRIGGER app customers customers_touch postgres',
  ].join('\n'));
  assert.deepEqual(toc.map((e) => [e.id, e.catalog, e.oid, e.desc]), [
    [3350, 2606, 16420, 'CONSTRAINT'],
    [3352, 2606, 16430, 'FK CONSTRAINT'],
    [3340, 1259, 16440, 'INDEX'],
    [3341, 0, 0, 'INDEX ATTACH'],
    [3360, 2620, 16450, 'TRIGGER'],
  ]);
});

test('partsFor splits only tables above the threshold, up to a cap', () => {
  assert.equal(partsFor(100, 256, 16), 1);
  assert.equal(partsFor(1000, 256, 16), 4);
  assert.equal(partsFor(1e12, 256, 16), 16);
  assert.equal(partsFor(1e12, 0, 16), 1);
});

test('cutPoints gives ascending, distinct interior boundaries', () => {
  assert.deepEqual(cutPoints(0n, 99n, 4), [25n, 50n, 75n]);
  assert.deepEqual(cutPoints(5n, 5n, 4), []);
  assert.deepEqual(cutPoints(1n, 3n, 10), [2n, 3n]);
  const big = cutPoints(-9223372036854775808n, 9223372036854775807n, 8);
  assert.equal(big.length, 7);
  for (let i = 1; i < big.length; i++) assert.ok(big[i]! > big[i - 1]!);
});

test('COPY statements quote names and use binary only when planned', () => {
  const table = { schema: 'My "S"', name: 'a;b', bytes: 0, blocks: 0, intKey: null, columns: ['x y', 'z'], format: 'binary' as const };
  assert.equal(copyOutSql({ table, part: 1, of: 1, estBytes: 0 }), 'COPY "My ""S"""."a;b" ("x y", "z") TO STDOUT (FORMAT binary)');
  assert.equal(copyOutSql({ table, part: 2, of: 3, estBytes: 0, whereSql: "ctid >= '(5,0)'::tid" }),
    'COPY (SELECT "x y", "z" FROM ONLY "My ""S"""."a;b" WHERE ctid >= \'(5,0)\'::tid) TO STDOUT (FORMAT binary)');
  assert.equal(copyInSql({ table: { ...table, format: 'text' }, part: 1, of: 1, estBytes: 0 }), 'COPY "My ""S"""."a;b" ("x y", "z") FROM STDIN');
});
