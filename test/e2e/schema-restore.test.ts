// What the target cannot restore, and what a failing child process says, on
// real clusters: PostgreSQL 15 from the system package (built with lz4, like
// the regression corpus's source) to an embedded 17 (built without lz4).
//   - a psql apply that stops at its first error while megabytes of script
//     are still unwritten surfaces psql's own ERROR line and the entry it
//     failed in, never a Node stack trace (EPIPE), and the database the run
//     created is dropped again (schema and fast copy alike);
//   - check foresees what the restore refuses (lz4 columns, generated
//     columns of inheritance children, C functions whose library the target
//     cannot load) as FAILs naming the objects and the fix on the source;
//     schema refuses them before creating anything; once fixed on the source
//     as advised, the schema applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, qi, type CliResult } from '../helpers/harness.js';
import { databaseExists } from '../helpers/schema-catalog.js';
import type { CheckReport } from '../../src/steps/check.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(15, 17);
});
after(async () => {
  await pair?.stop();
});

/** Nothing in the output of a command looks like a JavaScript stack trace or a raw pipe error. */
function noCrash(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event|^\s+at .*\(.*:\d+:\d+\)$|node:internal/m, r.stderr);
}

test('a psql apply that fails early in a large script says what psql said, and drops the database the run created', async () => {
  const db = await pair.freshDatabase('early');
  const role = `early owner ${process.pid}`;
  await pair.source.sql(`CREATE ROLE ${qi(role)}`);
  try {
    // The schema owned by a role the target lacks is among the first entries;
    // a 4 MB comment further down keeps psql's stdin far from written when psql stops.
    await pair.source.sql(`
      CREATE SCHEMA aaa AUTHORIZATION ${qi(role)};
      CREATE TABLE public.zzz (id int PRIMARY KEY);
      DO $$ BEGIN EXECUTE format('COMMENT ON TABLE public.zzz IS %L', repeat('x', 4 * 1024 * 1024)); END $$;
    `, [], db);
    const config = await pair.writeConfig([db]);

    const r = await runCli(['-c', config, 'schema', db], { env: pair.env() });
    assert.equal(r.code, 1, r.stderr);
    noCrash(r);
    assert.match(r.stderr, new RegExp(`at SCHEMA aaa: psql exited with code \\d+:\\n\\s+psql:<stdin>:\\d+: ERROR:  role "${role}" does not exist`), r.stderr);
    assert.match(r.stderr, /hint: .*pgshift roles/);
    assert.equal(await databaseExists(pair.target, db), false, 'the database schema created must be dropped again');

    const f = await runCli(['-c', config, 'start', db, '--copy', 'fast'], { env: pair.env() });
    assert.equal(f.code, 1, f.stderr);
    noCrash(f);
    assert.match(f.stderr, new RegExp(`at SCHEMA aaa: psql exited with code \\d+:\\n\\s+psql:<stdin>:\\d+: ERROR:  role "${role}" does not exist`), f.stderr);
    assert.equal(await databaseExists(pair.target, db), false, 'the database fast copy created must be dropped again');
    const slots = await pair.source.sql('SELECT slot_name FROM pg_replication_slots');
    assert.deepEqual(slots, [], 'fast copy leaves no slot behind');
  } finally {
    await pair.source.dropDatabase(db);
    await pair.source.sql(`DROP ROLE ${qi(role)}`);
  }
});

test('check foresees what the target cannot restore, schema refuses it before creating anything, and the fix on the source works', async () => {
  const db = await pair.freshDatabase('restore');
  await pair.source.sql(`
    CREATE TABLE docs (id int PRIMARY KEY, body text COMPRESSION lz4);
    INSERT INTO docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 50) g;
    CREATE TABLE gparent (a int, b int);
    CREATE TABLE gchild (a int, b int GENERATED ALWAYS AS (a * 2) STORED) INHERITS (gparent);
    CREATE FUNCTION stamp() RETURNS trigger AS '/usr/lib/postgresql/15/lib/autoinc.so', 'autoinc' LANGUAGE C;
  `, [], db);
  const config = await pair.writeConfig([db]);

  const c = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  assert.equal(c.code, 1, c.stderr);
  const report = JSON.parse(c.stdout) as CheckReport;
  const fails = report.findings.filter((f) => f.severity === 'fail');
  assert.deepEqual(fails.map((f) => f.id).sort(), ['restore.c-library', 'restore.generated-child', 'restore.lz4']);
  const byId = Object.fromEntries(fails.map((f) => [f.id, f]));
  assert.deepEqual(byId['restore.lz4']!.objects, ['public.docs.body']);
  assert.deepEqual(byId['restore.generated-child']!.objects, ['public.gchild.b (parent public.gparent)']);
  assert.deepEqual(byId['restore.c-library']!.objects, ['public.stamp(): /usr/lib/postgresql/15/lib/autoinc.so']);
  for (const f of fails) {
    assert.equal(f.side, 'source');
    assert.match(f.fix ?? '', /^On the source/, f.id);
  }

  const s = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(s.code, 1, s.stderr);
  noCrash(s);
  assert.match(s.stderr, /the target cannot restore the schema/);
  assert.match(s.stderr, /hint: Nothing was created on the target\. On the source/);
  assert.doesNotMatch(s.stderr, /Fix the cause named above on the target/);
  assert.equal(await databaseExists(pair.target, db), false);

  // The fixes check advised, on the source; the data stays.
  await pair.source.sql(`
    ALTER TABLE docs ALTER COLUMN body SET COMPRESSION pglz;
    BEGIN;
    ALTER TABLE gchild NO INHERIT gparent;
    ALTER TABLE gchild ALTER COLUMN b DROP EXPRESSION;
    ALTER TABLE gchild INHERIT gparent;
    COMMIT;
    CREATE OR REPLACE FUNCTION stamp() RETURNS trigger AS '$libdir/autoinc', 'autoinc' LANGUAGE C;
  `, [], db);
  const again = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  const ok = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(ok.code, 0, ok.stderr);
  const [{ n }] = await pair.target.sql<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'stamp' AND probin = '$libdir/autoinc'", [], db) as [{ n: number }];
  assert.equal(n, 1);
});
