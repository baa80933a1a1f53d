import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quoteIdent, quoteLiteral, qualify } from '../../src/pg/quote.js';
import { parseLsn, formatLsn, lsnDiff } from '../../src/pg/lsn.js';
import { featuresOf, versionFromNum } from '../../src/pg/version.js';
import { parseDuration } from '../../src/util/duration.js';
import { baseName, namesFor } from '../../src/replication/names.js';
import { matchesPattern } from '../../src/pg/catalog.js';

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
