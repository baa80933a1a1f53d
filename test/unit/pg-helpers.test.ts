import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteIdent, quoteLiteral, qualify } from '../../src/pg/quote.js';
import { parseLsn, formatLsn, lsnDiff } from '../../src/pg/lsn.js';
import { featuresOf, versionFromNum } from '../../src/pg/version.js';
import { parseDuration } from '../../src/util/duration.js';
import { baseName, namesFor } from '../../src/replication/names.js';
import { matchesPattern } from '../../src/pg/catalog.js';
import { applyGates, sqlFile, sqlFor } from '../../src/pg/sql.js';
import { readdirSync, readFileSync } from 'node:fs';

test('identifiers are always quoted and never split on dots', () => {
  assert.equal(quoteIdent('a.b'), '"a.b"');
  assert.equal(quoteIdent('a";DROP TABLE x;--'), '"a"";DROP TABLE x;--"');
  assert.equal(qualify('my schema', 't"x'), '"my schema"."t""x"');
  assert.throws(() => quoteIdent(''));
});

test('literals double quotes and use E-strings for backslashes', () => {
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(quoteLiteral('a\\b'), "E'a\\\\b'");
});

test('LSN arithmetic', () => {
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
  assert.equal(formatLsn(parseLsn('0/1A2B')), '0/1A2B');
  assert.equal(lsnDiff('1/0', '0/FFFFFFFF'), 1n);
  assert.equal(lsnDiff('0/10', '0/20'), 0n);
});

test('version gates', () => {
  assert.equal(versionFromNum(170002).major, 17);
  assert.equal(versionFromNum(90624).major, 9.6);
  assert.equal(featuresOf(12).publishViaPartitionRoot, false);
  assert.equal(featuresOf(13).publishViaPartitionRoot, true);
  assert.equal(featuresOf(15).disableOnError, true);
  assert.equal(featuresOf(16).originNone, true);
});

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('2'), 2000);
  assert.equal(parseDuration('soon'), undefined);
});

test('names are deterministic, slot-safe and distinct for distinct databases', () => {
  assert.equal(baseName('app'), 'pgshift_app');
  for (const db of ['App', 'a b', 'a";DROP', 'x'.repeat(63), 'ünï']) {
    const n = namesFor(db);
    assert.match(n.slot, /^[a-z0-9_]{1,63}$/);
    assert.match(n.reverseSlot, /^[a-z0-9_]{1,63}$/);
    assert.equal(namesFor(db).slot, n.slot);
  }
  assert.notEqual(baseName('a b'), baseName('a_b'));
});

test('exclude patterns', () => {
  assert.ok(matchesPattern({ schema: 'public', name: 't' }, 'public.t'));
  assert.ok(matchesPattern({ schema: 'public', name: 't' }, 't'));
  assert.ok(matchesPattern({ schema: 's', name: 'anything' }, 's.*'));
  assert.ok(matchesPattern({ schema: 'a.b', name: 'c.d' }, '"a.b"."c.d"'));
  assert.ok(!matchesPattern({ schema: 'public', name: 'tt' }, 'public.t'));
});

test('SQL version gates: the branch a server needs, the older form uncommented', () => {
  const text = ['SELECT a,', '--#if generatedColumns', "       g <> '' AS generated", '--#else', '-- Before 12: none.', '--|       false AS generated', '--#end', '  FROM t;'].join('\n');
  assert.equal(applyGates(text, featuresOf(versionFromNum(170000))), "SELECT a,\n       g <> '' AS generated\n  FROM t;");
  assert.equal(applyGates(text, featuresOf(versionFromNum(110000))), 'SELECT a,\n       false AS generated\n  FROM t;');
  assert.throws(() => applyGates('--#if noSuchFeature\nx\n--#end', featuresOf(versionFromNum(170000))), /no feature of src\/pg\/version.ts/);
  assert.throws(() => applyGates('--#if jit\nx', featuresOf(versionFromNum(170000))), /without --#end/);
  assert.throws(() => applyGates('--#if jit\nx\n--#else\ny\n--#end', featuresOf(versionFromNum(100000))), /neither "--\|" code nor a comment/);
});

test('every query with version gates loads for every supported major, and only through sqlFor', () => {
  const dir = new URL('../../../src/pg/sql/', import.meta.url);
  const gated = readdirSync(dir).filter((f) => f.endsWith('.sql') && readFileSync(new URL(f, dir), 'utf8').includes('\n--#if ')).map((f) => f.slice(0, -4));
  assert.ok(gated.length >= 12, `gated queries: ${gated.join(', ')}`);
  for (const name of gated) {
    const forms = new Set<string>();
    for (let major = 10; major <= 18; major++) {
      const text = sqlFor(name, versionFromNum(major * 10000));
      assert.doesNotMatch(text, /^--#|^--\|/m, `${name} for ${major}`);
      forms.add(text);
    }
    assert.ok(forms.size >= 2, `${name}.sql has one form for every major: its gate never changes anything`);
    assert.throws(() => sqlFile(name), /has version gates: load it with sqlFor/);
  }
});
