// pgshift's edits to pgbouncer.ini, no PgBouncer: holding a parameter of the
// migrated database's entry while writes are paused, and the repoint that
// writes the entry back as it was (with its new host), after a crash too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldEntry, heldEntryFile, holdEntryParams, readDatabaseEntry, repointConfigFile } from '../../src/switchover/pgbouncer-admin.js';

const INI = `;; the user's own file
[databases]
other = host=10.0.0.9 port=5432 dbname=other
"my app" = host=10.0.0.5 port=5432 dbname=app pool_size=30 min_pool_size=5 auth_user=pgb

[pgbouncer]
min_pool_size = 2 ; global
listen_port = 6432
`;

function iniFile(): string {
  const f = join(mkdtempSync(join(tmpdir(), 'pgshift-pgbouncer-ini-')), 'pgbouncer.ini');
  writeFileSync(f, INI, { mode: 0o640 });
  return f;
}

test('holding min_pool_size changes only that parameter of the entry and keeps the entry as it was beside the file', () => {
  const f = iniFile();
  holdEntryParams(f, 'my app', { min_pool_size: '0' });
  const text = readFileSync(f, 'utf8');
  assert.deepEqual(readDatabaseEntry(text, 'my app'), { host: '10.0.0.5', port: '5432', dbname: 'app', pool_size: '30', min_pool_size: '0', auth_user: 'pgb' });
  // Every other line, byte for byte.
  assert.deepEqual(text.split('\n').filter((l) => !l.startsWith('"my app"')), INI.split('\n').filter((l) => !l.startsWith('"my app"')));
  assert.equal(statSync(f).mode & 0o777, 0o640);
  assert.equal(heldEntry(f, 'my app')?.min_pool_size, '5');
  // Holding again (a re-run) keeps the first copy: the user's value, not pgshift's 0.
  holdEntryParams(f, 'my app', { min_pool_size: '0' });
  assert.equal(heldEntry(f, 'my app')?.min_pool_size, '5');
});

test('the repoint writes the entry back as it was, with its new host, and removes the copy (also from a later process)', () => {
  const f = iniFile();
  holdEntryParams(f, 'my app', { min_pool_size: '0' });
  // A later pgshift (the first one killed) repoints: it knows only the file and the copy beside it.
  repointConfigFile(f, 'my app', { host: '10.0.0.7', port: '5433', dbname: 'app' });
  assert.deepEqual(readDatabaseEntry(readFileSync(f, 'utf8'), 'my app'), { host: '10.0.0.7', port: '5433', dbname: 'app', pool_size: '30', min_pool_size: '5', auth_user: 'pgb' });
  assert.equal(existsSync(heldEntryFile(f, 'my app')), false);
  // Back to where it was (an undo or a rollback): the user's file again, exactly.
  repointConfigFile(f, 'my app', { host: '10.0.0.5', port: '5432', dbname: 'app' });
  assert.equal(readFileSync(f, 'utf8'), INI);
});

test('an entry without min_pool_size gets one while held, and none after the repoint', () => {
  const f = iniFile();
  holdEntryParams(f, 'other', { min_pool_size: '0' });
  assert.equal(readDatabaseEntry(readFileSync(f, 'utf8'), 'other')?.min_pool_size, '0');
  repointConfigFile(f, 'other', { host: '10.0.0.9', port: '5432', dbname: 'other' });
  assert.equal(readFileSync(f, 'utf8'), INI);
});

test('holding leaves host, port and dbname exactly as written (a changed server would close the pool on RELOAD)', () => {
  const f = iniFile();
  writeFileSync(f, INI.replace('other = host=10.0.0.9 port=5432 dbname=other', "other=host=10.0.0.9,10.0.0.10 dbname=other application_name='a b'"));
  holdEntryParams(f, 'other', { min_pool_size: '0' });
  assert.match(readFileSync(f, 'utf8'), /^other = host=10\.0\.0\.9,10\.0\.0\.10 dbname=other application_name='a b' min_pool_size=0$/m);
});
