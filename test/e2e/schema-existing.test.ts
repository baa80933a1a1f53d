// schema DB --existing on real clusters (14 -> 18 by default): a drifted but
// compatible target passes and every difference is reported; an incompatible
// one fails (exit 1) naming table and column; nothing is ever applied.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import { schemaDefinitions } from '../helpers/schema-catalog.js';

const [[FROM, TO]] = versionPairs([[14, 18]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

const SOURCE_SCHEMA = `
CREATE SCHEMA "Odd; ""s""";
CREATE TABLE "Odd; ""s"""."Acc ounts" (id int PRIMARY KEY, name varchar(20) NOT NULL, amount int, note text, tags varchar(5)[]);
CREATE TABLE public.skipped (id int PRIMARY KEY, x text);`;

interface Diff { table: string; column?: string; sourceType?: string; targetType?: string; verdict: string; reason: string }

test(`schema --existing ${FROM}->${TO}: int->bigint, varchar->text, an extra nullable column pass and are reported`, async () => {
  const db = await pair.freshDatabase('drift', { onTarget: true });
  await pair.source.sql(SOURCE_SCHEMA, [], db);
  await pair.target.sql(`
    CREATE SCHEMA "Odd; ""s""";
    CREATE TABLE "Odd; ""s"""."Acc ounts" (id bigint PRIMARY KEY, name text NOT NULL, amount bigint, note text,
      tags text[], "extra col" int, created_at timestamptz NOT NULL DEFAULT now());`, [], db);
  const before = await schemaDefinitions(pair.target, db);
  // public.skipped is excluded in the config, so its absence on the target is fine.
  const config = await pair.writeConfig({ [db]: { exclude: ['public.skipped'] } });
  const r = await runCli(['-c', config, '--json', 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr);
  const compat = JSON.parse(r.stdout).compatibility as { ok: boolean; tables: number; differences: Diff[]; typesDiffer: boolean };
  assert.equal(compat.ok, true);
  assert.equal(compat.tables, 1);
  assert.equal(compat.typesDiffer, true);
  const by = new Map(compat.differences.map((d) => [d.column, d]));
  assert.deepEqual([...by.keys()].sort(), ['amount', 'created_at', 'extra col', 'id', 'name', 'tags']);
  assert.equal(by.get('id')!.verdict, 'compatible');
  assert.equal(by.get('id')!.sourceType, 'integer');
  assert.equal(by.get('id')!.targetType, 'bigint');
  assert.equal(by.get('name')!.verdict, 'compatible');
  assert.equal(by.get('tags')!.verdict, 'compatible');
  assert.equal(by.get('extra col')!.verdict, 'compatible');
  assert.equal(by.get('created_at')!.verdict, 'compatible');
  for (const d of compat.differences) assert.equal(d.table, 'Odd; "s".Acc ounts');
  assert.deepEqual(await schemaDefinitions(pair.target, db), before, '--existing must not change the target');

  const human = await runCli(['-c', config, 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /integer -> bigint/);
  assert.match(human.stderr, /binary transfer/);
});

test('schema --existing fails (exit 1) on a missing column, text->int, a NOT NULL extra column and a missing table, naming each', async () => {
  const db = await pair.freshDatabase('incompat', { onTarget: true });
  await pair.source.sql(SOURCE_SCHEMA, [], db);
  await pair.target.sql(`
    CREATE SCHEMA "Odd; ""s""";
    CREATE TABLE "Odd; ""s"""."Acc ounts" (id int PRIMARY KEY, name int NOT NULL, amount int, tags varchar(5)[],
      required text NOT NULL);`, [], db);
  const before = await schemaDefinitions(pair.target, db);
  const config = await pair.writeConfig([db]);
  const r = await runCli(['-c', config, 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /FAIL Odd; "s"\.Acc ounts column "note" text -> -: column missing on the target/);
  assert.match(r.stderr, /FAIL Odd; "s"\.Acc ounts column "name" character varying\(20\) -> integer: no implicit or assignment cast/);
  assert.match(r.stderr, /FAIL Odd; "s"\.Acc ounts column "required" - -> text: extra NOT NULL column/);
  assert.match(r.stderr, /FAIL public\.skipped: table missing on the target/);
  assert.match(r.stderr, /error: the target schema .* cannot receive/);

  const j = await runCli(['-c', config, '--json', 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(j.code, 1);
  const err = JSON.parse(j.stdout);
  const bad = (err.details.compatibility.differences as Diff[]).filter((d) => d.verdict === 'incompatible').map((d) => `${d.table}:${d.column ?? ''}`).sort();
  assert.deepEqual(bad, ['Odd; "s".Acc ounts:name', 'Odd; "s".Acc ounts:note', 'Odd; "s".Acc ounts:required', 'public.skipped:']);
  assert.deepEqual(await schemaDefinitions(pair.target, db), before);
});

test('schema --existing on a target without the database says so (exit 1)', async () => {
  const db = await pair.freshDatabase('nodb');
  const config = await pair.writeConfig([db]);
  const r = await runCli(['-c', config, 'schema', db, '--existing'], { env: pair.env() });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /target has no database/);
});
