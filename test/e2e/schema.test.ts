// schema DB on real clusters (12 -> 17 by default): the full fixture (hostile
// names included) and two extensions arrive with every definition intact,
// a re-run is a no-op, a non-empty target is refused untouched, and a failing
// apply leaves the target as it was.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, qi } from '../helpers/harness.js';
import { createFixtureSchema, fillFixture, FIXTURE_TABLES } from '../helpers/fixture-schema.js';
import { schemaDefinitions, userTables, databaseExists } from '../helpers/schema-catalog.js';

const [[FROM, TO]] = versionPairs([[12, 17]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

test(`schema ${FROM}->${TO}: the full fixture and its extensions are applied, definitions identical, re-run is a no-op`, async () => {
  const db = await pair.freshDatabase('Shop "x"; ü');
  await createFixtureSchema(pair.source, db);
  await pair.source.sql(`CREATE EXTENSION pg_trgm WITH SCHEMA app; CREATE EXTENSION hstore;
    ALTER TABLE app.customers ADD COLUMN attrs hstore;
    CREATE INDEX customers_name_trgm ON app.customers USING gin (name app.gin_trgm_ops)`, [], db);
  await fillFixture(pair.source, db, 20);
  const config = await pair.writeConfig([db]);

  const r = await runCli(['-c', config, '--json', 'schema', db], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.created, true);
  assert.equal(report.applied, true);
  assert.deepEqual(report.extensions.map((e: string) => e.split(' ')[0]).sort(), ['hstore', 'pg_trgm']);

  const [src, tgt] = await Promise.all([schemaDefinitions(pair.source, db), schemaDefinitions(pair.target, db)]);
  assert.ok(src.length > 80, `fixture too small? ${src.length} definitions`);
  assert.deepEqual(tgt, src);
  for (const t of FIXTURE_TABLES) {
    const rows = await pair.target.sql(`SELECT count(*)::int AS n FROM ${qi(t.schema)}.${qi(t.name)}`, [], db);
    assert.equal(rows[0]!.n, 0, `schema-only: ${t.schema}.${t.name} must be empty`);
  }

  const again = await runCli(['-c', config, '--json', 'schema', db], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout);
  assert.equal(second.alreadyDone, true);
  assert.equal(second.applied, false);
  assert.deepEqual(await schemaDefinitions(pair.target, db), src);

  // The pre-provisioned check accepts an identical schema (enums, domains, arrays, composites).
  const existing = await runCli(['-c', config, '--json', 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(existing.code, 0, existing.stderr);
  const compat = JSON.parse(existing.stdout).compatibility;
  assert.equal(compat.ok, true);
  assert.deepEqual(compat.differences, []);
});

test('schema refuses (exit 3) a target database with user tables, and leaves it untouched', async () => {
  const db = await pair.freshDatabase('busy', { onTarget: true });
  await createFixtureSchema(pair.source, db);
  await pair.target.sql('CREATE TABLE public.precious (id int PRIMARY KEY); INSERT INTO public.precious VALUES (1), (2)', [], db);
  const before = await schemaDefinitions(pair.target, db);
  const config = await pair.writeConfig([db]);
  const r = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /already has 1 user table.*public\.precious/);
  assert.match(r.stderr, /--existing/);
  assert.deepEqual(await schemaDefinitions(pair.target, db), before);
  assert.deepEqual(await pair.target.sql('SELECT id FROM public.precious ORDER BY id', [], db), [{ id: 1 }, { id: 2 }]);
});

test('a failing apply into an existing empty database leaves it exactly as it was', async () => {
  const db = await pair.freshDatabase('conflict', { onTarget: true });
  await createFixtureSchema(pair.source, db);
  // A type the dump also creates: the apply fails part-way through.
  await pair.target.sql(`CREATE SCHEMA app; CREATE TYPE app.address AS (x int)`, [], db);
  const before = await schemaDefinitions(pair.target, db);
  const config = await pair.writeConfig([db]);
  const r = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /applying the source schema .* failed/);
  assert.match(r.stderr, /left as it was/);
  assert.deepEqual(await schemaDefinitions(pair.target, db), before);
  assert.deepEqual(await userTables(pair.target, db), []);
});

test('a failing apply into a database this run created drops it again; the hint names "pgshift roles"', async () => {
  const db = await pair.freshDatabase('ghost');
  const role = `ghost owner "${process.pid}"`;
  await pair.source.sql(`CREATE ROLE ${qi(role)}`);
  try {
    await pair.source.sql(`CREATE TABLE public.t (id int PRIMARY KEY); ALTER TABLE public.t OWNER TO ${qi(role)}`, [], db);
    const config = await pair.writeConfig([db]);
    const r = await runCli(['-c', config, 'schema', db], { env: pair.env() });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /pgshift roles/);
    assert.equal(await databaseExists(pair.target, db), false, 'the database created by the failed run must be dropped');
  } finally {
    await pair.source.dropDatabase(db);
    await pair.source.sql(`DROP ROLE ${qi(role)}`);
  }
});
