// The dry run's rendering of a statement (src/pg/dry-run.ts): bound values
// shown as the SQL literals they mean, placeholders inside strings,
// identifiers, dollar quotes and comments left alone; and the read-only
// backstop's list of statements a read-only session does not stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DryRun, escapesReadOnly, planText, renderStatement, shellLine, sqlValueLiteral } from '../../src/pg/dry-run.js';

test('bound values become SQL literals through the quoting helper', () => {
  assert.equal(sqlValueLiteral("it's"), "'it''s'");
  assert.equal(sqlValueLiteral('back\\slash'), "E'back\\\\slash'");
  assert.equal(sqlValueLiteral(42), '42');
  assert.equal(sqlValueLiteral(10n), '10');
  // Bare, "x - -5" would be fine but "x-$1" would become a comment: negative numbers are quoted.
  assert.equal(sqlValueLiteral(-5), "'-5'");
  assert.equal(sqlValueLiteral(1.5), '1.5');
  assert.equal(sqlValueLiteral(NaN), "'NaN'");
  assert.equal(sqlValueLiteral(true), 'true');
  assert.equal(sqlValueLiteral(null), 'NULL');
  assert.equal(sqlValueLiteral(undefined), 'NULL');
  // Arrays as node-postgres sends them: an array literal, elements double-quoted.
  assert.equal(sqlValueLiteral([1, 2, 3]), `'{"1","2","3"}'`);
  assert.equal(sqlValueLiteral(['a"b', "c'd", null, 'e\\f']), `E'{"a\\\\"b","c''d",NULL,"e\\\\\\\\f"}'`);
  assert.equal(sqlValueLiteral([]), "'{}'");
  assert.equal(sqlValueLiteral(Buffer.from([0xde, 0xad])), "E'\\\\xdead'");
  assert.equal(sqlValueLiteral(new Date('2026-01-02T03:04:05.000Z')), "'2026-01-02T03:04:05.000Z'");
  assert.equal(sqlValueLiteral({ a: "x'y" }), `'{"a":"x''y"}'`);
});

test('placeholders are replaced by number, and only outside quotes and comments', () => {
  const params = Array.from({ length: 11 }, (_, i) => `v${i + 1}`);
  assert.equal(renderStatement('SELECT $1, $10, $11', params), "SELECT 'v1', 'v10', 'v11'");
  assert.equal(renderStatement("SELECT '$1', \"$1\", $1", ['x']), `SELECT '$1', "$1", 'x'`);
  assert.equal(renderStatement("SELECT 'it''s $1', $1", ['x']), "SELECT 'it''s $1', 'x'");
  assert.equal(renderStatement("SELECT E'\\' $1', $1", ['x']), "SELECT E'\\' $1', 'x'");
  assert.equal(renderStatement('SELECT "a""$1", $1', ['x']), `SELECT "a""$1", 'x'`);
  assert.equal(renderStatement('SELECT $1 -- not $2\n, $2', ['a', 'b']), "SELECT 'a' -- not $2\n, 'b'");
  assert.equal(renderStatement('SELECT /* $2 /* nested $2 */ $2 */ $1', ['a']), "SELECT /* $2 /* nested $2 */ $2 */ 'a'");
  assert.equal(renderStatement('DO $$ BEGIN PERFORM $1; END $$; SELECT $1', ['a']), "DO $$ BEGIN PERFORM $1; END $$; SELECT 'a'");
  assert.equal(renderStatement('DO $body$ x $1 $body$, $1', ['a']), "DO $body$ x $1 $body$, 'a'");
  assert.equal(renderStatement('SELECT $1::oid[]', [[1, 2]]), `SELECT '{"1","2"}'::oid[]`);
  // A value that itself looks like a placeholder is not rendered again.
  assert.equal(renderStatement('SELECT $1, $2', ['$2', 'b']), "SELECT '$2', 'b'");
  assert.throws(() => renderStatement('SELECT $2', ['a']), /\$2 has no parameter/);
});

test('a plan statement drops the .sql file\'s contract comments and ends with one semicolon', () => {
  const file = '-- Record one table.\n-- $1::text : database\n\nINSERT INTO t (d) VALUES ($1);\n';
  assert.equal(planText(file, ['app']), "INSERT INTO t (d) VALUES ('app');");
  assert.equal(planText('DROP PUBLICATION "p"'), 'DROP PUBLICATION "p";');
});

test('the recorder keeps order, step, side and database', () => {
  const plan = new DryRun();
  plan.step('publication');
  plan.record('source', 'app', 'CREATE PUBLICATION "p";');
  plan.step('subscription');
  plan.record('target', 'app', 'CREATE SUBSCRIPTION "s";', 'only if');
  plan.command('target', 'app', ['pg_restore', '--dbname', 'it\'s db', '-j', '4']);
  assert.deepEqual(plan.statements.map((s) => [s.n, s.step, s.side, s.sql ?? s.command, s.note]), [
    [1, 'publication', 'source', 'CREATE PUBLICATION "p";', undefined],
    [2, 'subscription', 'target', 'CREATE SUBSCRIPTION "s";', 'only if'],
    [3, 'subscription', 'target', "pg_restore --dbname 'it'\\''s db' -j 4", undefined],
  ]);
  assert.equal(shellLine(['a b', 'c']), "'a b' c");
});

test('the backstop knows what a read-only session does not stop', () => {
  for (const sql of [
    "SELECT pg_catalog.pg_create_logical_replication_slot('s', 'pgoutput')",
    'SELECT pg_catalog.pg_drop_replication_slot($1)',
    "SELECT pg_replication_origin_create('o')",
    'SELECT pg_catalog.pg_terminate_backend($1)',
    "ALTER SYSTEM SET work_mem = '5MB'",
    'SELECT pg_reload_conf()',
    'BEGIN; SET TRANSACTION READ WRITE',
    'SET default_transaction_read_only = off',
    "SELECT set_config('default_transaction_read_only', 'off', false)",
    'CHECKPOINT',
  ]) assert.ok(escapesReadOnly(sql), sql);
  for (const sql of [
    'SELECT slot_name FROM pg_replication_slots',
    "-- pg_try_advisory_lock(int4, int4) in a comment\nSELECT 1",
    "SELECT split_part(s.cfg, '=', 2) FROM x WHERE s.cfg LIKE 'default\\_transaction\\_read\\_only=%'",
    "SET lock_timeout = '10s'",
  ]) assert.ok(!escapesReadOnly(sql), sql);
});
