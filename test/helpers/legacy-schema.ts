// A PostgreSQL 10/11 schema as old applications have them, with what 12+
// and 14+ cannot restore: tables WITH OIDS (the default_with_oids way and
// the explicit one), abstime/reltime/tinterval columns and a composite type,
// a domain and a function over them, a postfix operator, views using the
// factorial operators and a geometric @, an aggregate over
// array_append(anyarray, anyelement), a view over pg_class.relhasoids;
// beside what old schemas also hold and every version takes (a view calling
// array_append and the prefix !! of tsquery, which 14 changed or kept and
// which resolve again from the view's text; inheritance, a hash index, a
// 10-style partitioned table with keys on its partitions).
// LEGACY_FIXES is what a user does on the source after reading `check`.

import assert from 'node:assert/strict';
import { tableRows, type Pair } from './harness.js';
import { waitForCatchUp } from './replication-scenario.js';
import { cli } from './versions-scenario.js';

export const LEGACY_SQL = `
SET default_with_oids = on;
CREATE TABLE legacy_oids (id serial PRIMARY KEY, v text);
SET default_with_oids = off;
CREATE TABLE explicit_oids (id int PRIMARY KEY, v text) WITH OIDS;
CREATE TABLE old_times (id int PRIMARY KEY, created abstime, ttl reltime, valid tinterval, plain timestamptz);
CREATE TYPE old_comp AS (a abstime, b int);
CREATE DOMAIN old_dom AS reltime;
CREATE FUNCTION now_abs() RETURNS abstime LANGUAGE sql AS 'SELECT now()::abstime';
CREATE FUNCTION pct(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 / 100';
CREATE OPERATOR %% (LEFTARG = numeric, PROCEDURE = pct);
CREATE VIEW v_fact AS SELECT 5 ! AS f, !! 4 AS g;
CREATE VIEW v_geo AS SELECT box '((0,0),(1,1))' @ box '((0,0),(2,2))' AS inside;
CREATE AGGREGATE array_accum (anyelement) (sfunc = array_append, stype = anyarray, initcond = '{}');
CREATE VIEW v_cat AS SELECT relname, relhasoids FROM pg_class;
CREATE VIEW v_ok AS SELECT array_append(ARRAY[1, 2], 3) AS a, !! 'a'::tsquery AS q, ARRAY[1] @> ARRAY[1] AS c;
CREATE TABLE parent_inh (id int PRIMARY KEY, kind text);
CREATE TABLE child_inh (extra text) INHERITS (parent_inh);
ALTER TABLE child_inh ADD PRIMARY KEY (id);
CREATE TABLE lookups (code text PRIMARY KEY, label text);
CREATE INDEX lookups_label_hash ON lookups USING hash (label);
CREATE TABLE measurements (id int NOT NULL, at date NOT NULL, v numeric) PARTITION BY RANGE (at);
CREATE TABLE measurements_2020 PARTITION OF measurements (PRIMARY KEY (id)) FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
CREATE TABLE measurements_2021 PARTITION OF measurements (PRIMARY KEY (id)) FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
INSERT INTO legacy_oids (v) SELECT 'v' || g FROM generate_series(1, 50) g;
INSERT INTO explicit_oids SELECT g, 'e' || g FROM generate_series(1, 50) g;
INSERT INTO old_times SELECT g, now()::abstime, '1 day'::reltime, tinterval(now()::abstime, (now() + interval '1 hour')::abstime), now() FROM generate_series(1, 50) g;
INSERT INTO parent_inh SELECT g, 'p' FROM generate_series(1, 20) g;
INSERT INTO child_inh SELECT g, 'c', 'x' FROM generate_series(21, 40) g;
INSERT INTO lookups SELECT 'c' || g, 'label ' || (g % 7) FROM generate_series(1, 100) g;
INSERT INTO measurements SELECT g, date '2020-01-01' + g, g * 1.5 FROM generate_series(1, 700) g;
`;

/** What `check` tells the user to do, done on the source. */
export const LEGACY_FIXES = `
ALTER TABLE legacy_oids SET WITHOUT OIDS;
ALTER TABLE explicit_oids SET WITHOUT OIDS;
ALTER TABLE old_times ALTER COLUMN created TYPE timestamptz USING created::timestamptz,
  ALTER COLUMN ttl TYPE interval USING ttl::interval,
  ALTER COLUMN valid TYPE tstzrange USING tstzrange(tintervalstart(valid), tintervalend(valid), '[]');
DROP TYPE old_comp;
CREATE TYPE old_comp AS (a timestamptz, b int);
DROP DOMAIN old_dom;
CREATE DOMAIN old_dom AS interval;
DROP FUNCTION now_abs();
CREATE FUNCTION now_abs() RETURNS timestamptz LANGUAGE sql AS 'SELECT now()';
DROP OPERATOR %% (numeric, NONE);
CREATE OR REPLACE VIEW v_fact AS SELECT factorial(5) AS f, factorial(4) AS g;
CREATE OR REPLACE VIEW v_geo AS SELECT box '((0,0),(1,1))' <@ box '((0,0),(2,2))' AS inside;
DROP AGGREGATE array_accum(anyelement);
DROP VIEW v_cat;
CREATE VIEW v_cat AS SELECT relname, relhasindex FROM pg_class;
`;

type Finding = { id: string; severity: string; title: string; objects: string[]; fix?: string; database?: string };

/**
 * check names every object a 12+ target cannot restore, with the fix on the
 * source; schema refuses before creating anything; after the fixes, check
 * passes and `run` copies and replicates the database.
 */
export async function legacyCheckAndFix(pair: Pair): Promise<void> {
  const { source, target } = pair;
  const db = await pair.freshDatabase('legacy');
  await source.sql(LEGACY_SQL, [], db);
  const cfg = await pair.writeConfig([db]);

  const check = await cli(pair, 'check', ['-c', cfg, '--json', 'check', db], 1);
  const findings = (JSON.parse(check.stdout) as { findings: Finding[] }).findings;
  const fails = findings.filter((f) => f.severity === 'fail');
  assert.deepEqual(fails.map((f) => f.id).sort(), ['legacy.catalog-views', 'legacy.postfix-operators', 'legacy.routines', 'legacy.types', 'legacy.with-oids'], check.stdout);
  const by = (id: string): Finding => fails.find((f) => f.id === id)!;
  assert.deepEqual(by('legacy.with-oids').objects, ['public.explicit_oids', 'public.legacy_oids']);
  assert.match(by('legacy.with-oids').fix!, /SET WITHOUT OIDS/);
  assert.deepEqual(by('legacy.types').objects.sort(), [
    'composite type column public.old_comp.a (abstime)',
    'function public.now_abs() (abstime)',
    'table column public.old_times.created (abstime)',
    'table column public.old_times.ttl (reltime)',
    'table column public.old_times.valid (tinterval)',
    'type public.old_dom (reltime)',
  ]);
  assert.match(by('legacy.types').fix!, /abstime -> timestamptz/);
  assert.deepEqual(by('legacy.postfix-operators').objects, ['operator %%(numeric,NONE) (calls pct(numeric))']);
  const routines = by('legacy.routines').objects.join('\n');
  for (const re of [/view public\.v_fact .*operator !\(bigint,NONE\)/, /view public\.v_fact .*operator !!\(NONE,bigint\)/, /view public\.v_geo .*operator @\(box,box\)/,
    /aggregate public\.array_accum\(.*anyelement\) \(function array_append\(anyarray,anyelement\)\)/]) {
    assert.match(routines, re);
  }
  assert.match(by('legacy.routines').fix!, /factorial\(n\)/);
  assert.doesNotMatch(routines, /v_ok/, 'a view whose functions and operators still resolve on the target is not flagged');
  assert.deepEqual(by('legacy.catalog-views').objects, ['view public.v_cat (pg_catalog.pg_class.relhasoids)']);
  for (const f of fails) assert.equal(f.database, db);

  // schema refuses before creating anything on the target.
  const schema = await cli(pair, 'schema', ['-c', cfg, '--yes', 'schema', db], 1);
  assert.match(schema.stderr, /cannot restore as they are: 2 tables WITH OIDS; 6 objects using abstime, reltime, tinterval; 1 postfix operator; 3 objects using removed built-in functions or operators; 1 view reading removed catalog columns/);
  assert.equal((await target.sql('SELECT 1 FROM pg_database WHERE datname = $1', [db])).length, 0, 'schema created the target database');

  await source.sql(LEGACY_FIXES, [], db);
  const again = await cli(pair, 'check', ['-c', cfg, '--json', 'check', db]);
  assert.deepEqual((JSON.parse(again.stdout) as { findings: Finding[] }).findings.filter((f) => f.id.startsWith('legacy.')), []);
  await cli(pair, 'run', ['-c', cfg, '--yes', 'run', db, '--timeout', '120s']);
  await source.sql("INSERT INTO old_times VALUES (51, now(), '2 days', tstzrange(now(), now() + interval '1 day'), now())", [], db);
  await waitForCatchUp(source, target, db);
  for (const t of ['legacy_oids', 'explicit_oids', 'old_times', 'parent_inh', 'child_inh', 'lookups', 'measurements_2020', 'measurements_2021']) {
    assert.deepEqual(await tableRows(target, db, 'public', t), await tableRows(source, db, 'public', t), t);
  }
  assert.deepEqual(await target.sql('SELECT f::text, g::text FROM v_fact', [], db), [{ f: '120', g: '24' }]);
  assert.deepEqual(await target.sql('SELECT a::text, q::text, c FROM v_ok', [], db), [{ a: '{1,2,3}', q: "!'a'", c: true }]);
  await cli(pair, 'cleanup', ['-c', cfg, '--yes', 'cleanup', db]);
}
