// verify against real replicated pairs: identical data of many types (and
// hostile names) passes on two version pairs; a changed column, a missing
// row and an extra row are named by table and key, in full, count and
// sample modes; a key-less table is compared as a whole; on a live source a
// commit not yet written to WAL (synchronous_commit off) is waited for, not
// reported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, HOSTILE_NAMES, qi } from '../helpers/harness.js';
import { sameSchema, replicate, caughtUp, pause, unreplicate, type Replicated } from '../helpers/plain-replication.js';
import { verifyDatabase, type VerifyReport } from '../../src/verify/index.js';
import { qualify } from '../../src/pg/quote.js';

const PAIRS = versionPairs([[12, 17], [14, 18]]);
const pairs: Pair[] = [];

before(async () => {
  for (const [from, to] of PAIRS) pairs.push(await Pair.start(from, to));
});
after(async () => {
  await Promise.all(pairs.map((p) => p.stop()));
});

const SCHEMA = HOSTILE_NAMES[2]!; // it's; DROP TABLE x;--
const TYPES = HOSTILE_NAMES[1]!; // with "double" quotes
const WEIRD_COL = HOSTILE_NAMES[3]!; // a";DROP TABLE x;--
const LONG = HOSTILE_NAMES[7]!;

/** Many column types, hostile names, a key-less, a text-keyed, an index-keyed and a partitioned table. */
function typesDdl(): string {
  const s = qi(SCHEMA);
  return `
CREATE SCHEMA ${s};
CREATE TYPE ${s}.mood AS ENUM ('sad', 'ok', 'happy 😀');
CREATE TYPE ${s}.pt AS (a int, b text, c float8);
CREATE TABLE ${qualify(SCHEMA, TYPES)} (
  id int PRIMARY KEY,
  n numeric, n2 numeric(12,4), f4 real, f8 double precision,
  ts timestamptz, tsl timestamp, d date, iv interval, b bytea, jb jsonb, js json,
  arr int[], tarr text[], farr float8[], m ${s}.mood, c ${s}.pt, u uuid, t text, ${qi(WEIRD_COL)} text,
  big text, vb bit varying, ip inet, money_ money, ch char(5), ${qi(LONG)} boolean
);
CREATE TABLE ${s}.nokey (a int, b text);
CREATE TABLE ${s}.textkey (region text, id int, v float8, PRIMARY KEY (region, id));
CREATE TABLE ${s}.ri (a int NOT NULL, b int NOT NULL, v text);
CREATE UNIQUE INDEX ri_ba ON ${s}.ri (b, a);
ALTER TABLE ${s}.ri REPLICA IDENTITY USING INDEX ri_ba;
CREATE TABLE ${s}.parted (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE ${s}.parted_eu PARTITION OF ${s}.parted FOR VALUES IN ('eu');
CREATE TABLE ${s}.parted_us PARTITION OF ${s}.parted FOR VALUES IN ('us');
`;
}

/** Rows with NULLs, special floats, unicode and TOASTed values. */
function typesData(rows: number): string {
  const s = qi(SCHEMA);
  return `
INSERT INTO ${qualify(SCHEMA, TYPES)}
SELECT i,
  CASE WHEN i % 17 = 0 THEN NULL WHEN i % 13 = 0 THEN 'NaN'::numeric ELSE (i * 12345.6789)::numeric / 7 END,
  (i / 3.0)::numeric(12,4),
  CASE i % 11 WHEN 0 THEN 'NaN'::real WHEN 1 THEN 'Infinity'::real WHEN 2 THEN '-Infinity'::real WHEN 3 THEN '-0'::real ELSE (i / 7.0)::real END,
  CASE i % 11 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity' WHEN 2 THEN '-Infinity' ELSE 1.0 / i + 1e-300 * i END,
  timestamptz '2001-02-03 04:05:06.789+03' + i * interval '1 day 1.5 second',
  timestamp '1999-12-31 23:59:59' + i * interval '1 hour',
  date '2020-02-29' + i,
  make_interval(0, i % 14, 0, i % 40, i % 24, i % 60, i / 1000.0),
  CASE WHEN i % 5 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
  jsonb_build_object('i', i, 'f', i / 3.0, 'nested', jsonb_build_array(1, 'ü', NULL, true)),
  ('{"b": 1,   "a": [' || i || ', 2.50]}')::json,
  ARRAY[i, NULL, -i],
  ARRAY['a b', 'quo"te', NULL, 'ü,{}'],
  ARRAY[i / 3.0, 'NaN', 'Infinity']::float8[],
  (ARRAY['sad', 'ok', 'happy 😀'])[1 + i % 3]::${s}.mood,
  ROW(i, 'x, "y"', i / 9.0)::${s}.pt,
  md5(i::text)::uuid,
  CASE WHEN i % 7 = 0 THEN NULL ELSE 'ünïcødé 表 ' || i || E'\\n\\t' END,
  'weird ' || i,
  CASE WHEN i % 50 = 0 THEN (SELECT string_agg(md5((i * 1000 + g)::text), '') FROM generate_series(1, 300) g) END,
  (i % 255)::bit(8)::varbit,
  ('10.0.' || (i % 255) || '.1/24')::inet,
  (i * 1.25)::numeric::money,
  'c' || (i % 10),
  i % 2 = 0
FROM generate_series(1, ${Number(rows)}) i;

INSERT INTO ${s}.nokey SELECT i % 50, 'dup' FROM generate_series(1, 300) i;

INSERT INTO ${s}.textkey SELECT (ARRAY['eu', 'Ünï', 'us west', 'a"b'])[1 + i % 4], i, i / 3.0 FROM generate_series(1, 2000) i;

INSERT INTO ${s}.ri SELECT i, i % 7, 'v' || i FROM generate_series(1, 500) i;

INSERT INTO ${s}.parted SELECT i, (ARRAY['eu', 'us'])[1 + i % 2], 'p' || i FROM generate_series(1, 1000) i;
`;
}

async function setUp(pair: Pair, rows = 3000): Promise<Replicated> {
  const db = await pair.freshDatabase('vé"ri fy');
  await sameSchema(pair.source, pair.target, db, typesDdl());
  await pair.source.sql(typesData(rows), [], db);
  const r = await replicate(pair.source, pair.target, db);
  // More rows after the initial copy, so some travel as streamed changes too.
  await pair.source.sql(`UPDATE ${qualify(SCHEMA, TYPES)} SET t = t || ' updated' WHERE id % 10 = 3`, [], db);
  await pair.source.sql(`DELETE FROM ${qualify(SCHEMA, 'textkey')} WHERE id % 100 = 1`, [], db);
  await caughtUp(r);
  return r;
}

async function lib(pair: Pair, db: string, extra: Partial<Parameters<typeof verifyDatabase>[0]> = {}): Promise<VerifyReport> {
  return verifyDatabase({
    source: await pair.source.endpoint(),
    target: await pair.target.endpoint(),
    database: db,
    // Small ranges so a few thousand rows exercise range planning and bisection.
    full: { chunkRows: 400, leafRows: 40, fanout: 4 },
    ...extra,
  });
}

for (const [i, [from, to]] of PAIRS.entries()) {
  test(`verify full: identical data of many types passes, ${from} -> ${to}`, async () => {
    const pair = pairs[i]!;
    const r = await setUp(pair);
    try {
      const report = await lib(pair, r.db);
      assert.equal(report.identical, true, JSON.stringify(report.tables.filter((t) => t.status !== 'same'), null, 1));
      assert.equal(report.live, true);
      assert.equal(report.rowHash, 'hashtextextended', 'both versions give the same hashtextextended');
      const md5 = await lib(pair, r.db, { rowHash: 'md5' });
      assert.equal(md5.identical, true);
      const types = report.tables.find((t) => t.name === TYPES)!;
      assert.equal(types.sourceRows, 3000);
      assert.ok(types.ranges! > 1, 'the types table was cut into ranges');
      assert.equal(report.tables.find((t) => t.name === 'nokey')!.method, 'whole');
      assert.deepEqual(report.tables.find((t) => t.name === 'ri')!.keyColumns, ['b', 'a']);
      assert.ok(report.tables.some((t) => t.name === 'parted') && !report.tables.some((t) => t.name === 'parted_eu'), 'partitions verified through the root');

      const config = await pair.writeConfig([r.db]);
      for (const mode of ['full', 'count', 'sample']) {
        const cli = await runCli(['-c', config, 'verify', r.db, '--mode', mode], { env: pair.env() });
        assert.equal(cli.code, 0, cli.stderr);
        assert.match(cli.stderr, /identical: 5 tables/);
        assert.ok(!cli.stderr.includes(pair.source.password));
      }
    } finally {
      await unreplicate(r);
    }
  });
}

test('verify names a changed column, a missing row and an extra row; key-less table compared as a whole', async () => {
  const pair = pairs[0]!;
  const r = await setUp(pair);
  try {
    await pause(r);
    const t = qualify(SCHEMA, TYPES);
    await pair.target.sql(`UPDATE ${t} SET f8 = f8 * (1 + 1e-15) WHERE id = 1236`, [], r.db);
    await pair.target.sql(`DELETE FROM ${t} WHERE id = 777`, [], r.db);
    await pair.target.sql(`INSERT INTO ${t} (id, t) VALUES (999999, 'only on the target')`, [], r.db);
    await pair.target.sql(`UPDATE ${qualify(SCHEMA, 'textkey')} SET v = -1 WHERE region = 'Ünï' AND id = 5`, [], r.db);
    await pair.target.sql(`INSERT INTO ${qualify(SCHEMA, 'nokey')} VALUES (1, 'dup')`, [], r.db);

    const report = await lib(pair, r.db);
    assert.equal(report.identical, false);
    const md5 = await lib(pair, r.db, { rowHash: 'md5-utf8' });
    assert.deepEqual(md5.tables.map((x) => [x.name, x.differenceCount]), report.tables.map((x) => [x.name, x.differenceCount]));
    assert.equal(report.live, false, 'a paused subscription is not waited on');
    const types = report.tables.find((x) => x.name === TYPES)!;
    assert.equal(types.status, 'differs');
    assert.deepEqual(
      types.differences.map((d) => [d.kind, d.key.id, d.columns?.join(',')]).sort(),
      [['different', '1236', 'f8'], ['extra', '999999', undefined], ['missing', '777', undefined]],
    );
    const textkey = report.tables.find((x) => x.name === 'textkey')!;
    assert.deepEqual(textkey.differences, [{ kind: 'different', key: { region: 'Ünï', id: '5' }, columns: ['v'] }]);
    const nokey = report.tables.find((x) => x.name === 'nokey')!;
    assert.equal(nokey.status, 'differs');
    assert.match(nokey.problem!, /300 rows on the source, 301 on the target/);
    for (const name of ['ri', 'parted']) assert.equal(report.tables.find((x) => x.name === name)!.status, 'same');

    // The CLI: exit 1, table and keys named; JSON carries the same.
    const config = await pair.writeConfig([r.db]);
    const cli = await runCli(['-c', config, 'verify', r.db], { env: pair.env() });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, new RegExp(`FAIL ${escape(SCHEMA)}\\.${escape(TYPES)}  3 rows differ`));
    assert.match(cli.stderr, /missing on target\s+\(id=777\)/);
    assert.match(cli.stderr, /extra on target\s+\(id=999999\)/);
    assert.match(cli.stderr, /different: f8\s+\(id=1236\)/);
    assert.match(cli.stderr, /nokey .*key-less table differs/);
    const json = await runCli(['-c', config, '--json', 'verify', r.db, '--tables', `"${SCHEMA}".textkey`], { env: pair.env() });
    assert.equal(json.code, 1, json.stderr);
    const doc = JSON.parse(json.stdout) as VerifyReport & { ok: boolean };
    assert.equal(doc.ok, false);
    assert.deepEqual(doc.tables.map((x) => x.name), ['textkey']);
    assert.deepEqual(doc.tables[0]!.differences[0]!.key, { region: 'Ünï', id: '5' });

    // count sees what changes a count: the key-less table's extra row (the types table lost one row and gained one).
    const count = await runCli(['-c', config, 'verify', r.db, '--mode', 'count'], { env: pair.env() });
    assert.equal(count.code, 1, count.stderr);
    assert.match(count.stderr, /FAIL .*nokey {2}300 rows on the source, 301 on the target/);
    assert.match(count.stderr, new RegExp(`ok   ${escape(SCHEMA)}\\.${escape(TYPES)}`));

    // sample: with a sample as big as the table, every row is looked at.
    const all = await lib(pair, r.db, { mode: 'sample', sampleSize: 5000 });
    assert.deepEqual(
      all.tables.find((x) => x.name === TYPES)!.differences.map((d) => [d.kind, d.key.id]).sort(),
      [['different', '1236'], ['extra', '999999'], ['missing', '777']],
    );
    // With the default sample, the extra row at the end of the key order is always seen.
    const some = await runCli(['-c', config, 'verify', r.db, '--mode', 'sample', '--tables', `"${SCHEMA}"."${TYPES.replace(/"/g, '""')}"`], { env: pair.env() });
    assert.equal(some.code, 1, some.stderr);
    assert.match(some.stderr, /extra on target\s+\(id=999999\)/);
  } finally {
    await unreplicate(r);
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('verify on a live source: a commit visible before its WAL is written (synchronous_commit off) is not a difference', async () => {
  const pair = pairs[0]!;
  const db = await pair.freshDatabase('asyncwal');
  await sameSchema(pair.source, pair.target, db, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
  await pair.source.sql("INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 100) g", [], db);
  const r = await replicate(pair.source, pair.target, db);
  // The WAL writer writes asynchronous commits out every wal_writer_delay: for
  // up to 10 s the row below is visible on the source while its commit record
  // is only in WAL buffers, past pg_current_wal_lsn() (the write position).
  await pair.source.sql("ALTER SYSTEM SET wal_writer_delay = '10s'");
  await pair.source.sql('SELECT pg_reload_conf()');
  try {
    await pair.source.sql("SET synchronous_commit = off; INSERT INTO t VALUES (101, 'async')", [], db);
    const report = await lib(pair, db);
    assert.equal(report.live, true);
    assert.equal(report.identical, true, JSON.stringify(report.tables, null, 1));
    assert.equal(report.tables.find((x) => x.name === 't')!.sourceRows, 101, 'the asynchronous commit was compared');
  } finally {
    await pair.source.sql('ALTER SYSTEM RESET wal_writer_delay');
    await pair.source.sql('SELECT pg_reload_conf()');
    await unreplicate(r);
  }
});

test('verify through the CLI before and after switchover (issue 11, finding 7): a zero-column table, an inheritance parent, and the tables the switchover copies are what they are; exit 0', async () => {
  const pair = pairs[0]!;
  const db = await pair.freshDatabase('atswitch');
  await pair.target.createDatabase(db);
  const ddl = `
    CREATE TABLE keyed (id int PRIMARY KEY, v text);
    CREATE TABLE nocols ();
    CREATE TABLE shapes (id int, p point);
    CREATE UNLOGGED TABLE scratch (v int);
    CREATE TABLE parent (id int PRIMARY KEY, v text);
    CREATE TABLE kid (g polygon) INHERITS (parent);
    CREATE TABLE covered (id int, box_ box, PRIMARY KEY (id) INCLUDE (box_));`;
  for (const c of [pair.source, pair.target]) await c.sql(ddl, [], db);
  await pair.source.sql(`
    INSERT INTO keyed SELECT g, 'v' || g FROM generate_series(1, 500) g;
    INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES;
    INSERT INTO shapes SELECT g, point(g, g) FROM generate_series(1, 5) g;
    INSERT INTO scratch SELECT generate_series(1, 7);
    INSERT INTO parent VALUES (1, 'p'), (2, 'p');
    INSERT INTO kid VALUES (3, 'k', '((0,0),(1,1),(1,0))');
    INSERT INTO covered SELECT g, box(point(g, g), point(0, 0)) FROM generate_series(1, 300) g;`, [], db);
  const config = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
  const cli = (args: string[]) => runCli(['-c', config, '--yes', ...args], { env: pair.env(), timeoutMs: 180_000 });
  const started = await cli(['start', db]);
  assert.equal(started.code, 0, started.stderr);
  assert.equal((await cli(['wait', db, '--timeout', '2m'])).code, 0);

  const byName = (doc: VerifyReport) => new Map(doc.tables.map((t) => [t.name, t]));
  for (const mode of ['full', 'count', 'sample']) {
    const before = await cli(['--json', 'verify', db, '--mode', mode]);
    assert.equal(before.code, 0, `${mode}: ${before.stdout}`);
    const t = byName(JSON.parse(before.stdout) as VerifyReport);
    for (const name of ['shapes', 'scratch', 'kid']) {
      assert.equal(t.get(name)!.status, 'deferred', `${mode} ${name}`);
      assert.match(t.get(name)!.note!, /copied at switchover .*compared after it/);
    }
    for (const name of ['keyed', 'nocols', 'parent', 'covered']) assert.equal(t.get(name)!.status, 'same', `${mode} ${name}: ${JSON.stringify(t.get(name))}`);
    if (mode !== 'sample') {
      assert.equal(t.get('nocols')!.sourceRows ?? t.get('nocols')!.checkedRows, 3);
      assert.equal(t.get('parent')!.sourceRows ?? t.get('parent')!.checkedRows, 2, 'the parent alone, not its child');
    }
  }
  const human = await cli(['verify', db]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /later public\.shapes {2}copied at switchover/);
  assert.match(human.stderr, /identical: 7 tables.*3 tables replication does not carry are copied at switchover/);
  assert.doesNotMatch(human.stderr, /undefined|missing on the target/);

  const sw = await cli(['switchover', db]);
  assert.equal(sw.code, 0, sw.stderr);
  const after = await cli(['--json', 'verify', db]);
  assert.equal(after.code, 0, after.stdout);
  const t = byName(JSON.parse(after.stdout) as VerifyReport);
  for (const [name, rows] of [['shapes', 5], ['scratch', 7], ['kid', 1], ['nocols', 3]] as const) {
    assert.equal(t.get(name)!.status, 'same', name);
    assert.equal(t.get(name)!.sourceRows ?? t.get(name)!.checkedRows, rows, name);
  }
  assert.equal((await cli(['cleanup', db])).code, 0);
});
