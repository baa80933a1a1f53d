// What a failed client tool says: its own error lines (not a Node stack
// trace), the archive entry psql stopped in, and on which side the fix of a
// restore refusal belongs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { childErrorLines, psqlFailedEntry } from '../../src/pg/tools.js';
import { restoreFixFor } from '../../src/checks/restore.js';
import { isOwnEntry } from '../../src/initial-copy/dump-entries.js';

test('childErrorLines keeps psql\'s ERROR line and what explains it, not the noise before it', () => {
  const stderr = [
    'psql:<stdin>:12: WARNING:  something harmless',
    'psql:<stdin>:988: ERROR:  incompatible library "/usr/lib/postgresql/15/lib/autoinc.so": version mismatch',
    'DETAIL:  Server is version 17, library is version 15.',
    'HINT:  Rebuild it.',
    '',
  ].join('\n');
  assert.deepEqual(childErrorLines(stderr), [
    'psql:<stdin>:988: ERROR:  incompatible library "/usr/lib/postgresql/15/lib/autoinc.so": version mismatch',
    'DETAIL:  Server is version 17, library is version 15.',
    'HINT:  Rebuild it.',
  ]);
  assert.deepEqual(childErrorLines('pg_dump: error: query failed: ERROR:  permission denied for table t\npg_dump: detail: Query was: LOCK TABLE t\n'),
    ['pg_dump: error: query failed: ERROR:  permission denied for table t', 'pg_dump: detail: Query was: LOCK TABLE t']);
  assert.deepEqual(childErrorLines('just some\noutput\n'), ['just some', 'output']);
});

test('psqlFailedEntry names the dump entry the failing line belongs to', () => {
  const script = [
    'BEGIN;',
    '--',
    '-- Name: autoinc(); Type: FUNCTION; Schema: public; Owner: postgres',
    '--',
    '',
    'CREATE FUNCTION public.autoinc() RETURNS trigger',
    "    AS '/x/autoinc.so', 'autoinc' LANGUAGE c;",
    '--',
    '-- Name: app; Type: SCHEMA; Schema: -; Owner: app_owner',
    '--',
    'CREATE SCHEMA app;',
  ].join('\n');
  assert.equal(psqlFailedEntry(script, ['psql:<stdin>:7: ERROR:  incompatible library']), 'FUNCTION public.autoinc()');
  assert.equal(psqlFailedEntry(script, ['psql:<stdin>:11: ERROR:  role "app_owner" does not exist']), 'SCHEMA app');
  assert.equal(psqlFailedEntry(script, ['psql:<stdin>:1: ERROR:  x']), undefined);
  assert.equal(psqlFailedEntry(script, ['something else']), undefined);
});

test('restoreFixFor puts the fix of a restore refusal on the source, and says nothing of other errors', () => {
  for (const m of [
    'ERROR:  compression method lz4 not supported',
    'ERROR:  child column "b" specifies generation expression',
    'ERROR:  incompatible library "/usr/lib/postgresql/15/lib/refint.so": version mismatch',
    'ERROR:  could not access file "$libdir/nosuch": No such file or directory',
  ]) {
    const fix = restoreFixFor(m, 'app');
    assert.ok(fix, m);
    assert.match(fix, /on the source/, m);
    assert.match(fix, /pgshift check app/, m);
  }
  assert.equal(restoreFixFor('ERROR:  role "x" does not exist', 'app'), undefined);
});

test('isOwnEntry: a table-of-contents line is pgshift\'s own by its catalog and object oids, whatever names it holds', () => {
  const own = new Set(['6104 16500', '6106 16501']);
  assert.equal(isOwnEntry('212; 6104 16500 PUBLICATION - pgshift_app postgres', own), true);
  assert.equal(isOwnEntry('213; 6106 16501 PUBLICATION TABLE Sales "Dept"; ünï pgshift_app MixedCase', own), true);
  assert.equal(isOwnEntry('216; 6104 16504 PUBLICATION - dump_pub_all postgres', own), false);
  assert.equal(isOwnEntry('217; 1259 16500 TABLE public pgshift_app postgres', own), false, 'another catalog, the same oid');
  assert.equal(isOwnEntry(';213; 6106 16501 PUBLICATION TABLE public pgshift_app t', own), false);
});
