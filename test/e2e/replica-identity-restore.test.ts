// Replica identities pgshift sets are put back by cleanup (issue 11, finding
// 6), 13 -> 16 through the CLI: every table gets the identity it had before
// pgshift on both sides, after a switchover and with one side down (the
// record lives on each cluster, so a later cleanup, another process, finds
// it), and nothing of the record is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const [[FROM, TO]] = versionPairs([[13, 16]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

// nokey and the partitions get FULL, uniq and nothing an index; the others keep theirs.
const DDL = `
CREATE TABLE nokey (a int, b text);
CREATE TABLE uniq (a int NOT NULL, b text);
CREATE UNIQUE INDEX uniq_a ON uniq (a);
CREATE TABLE nothing (id int PRIMARY KEY, v text);
ALTER TABLE nothing REPLICA IDENTITY NOTHING;
CREATE TABLE already_full (a int);
ALTER TABLE already_full REPLICA IDENTITY FULL;
CREATE TABLE keyed (id int PRIMARY KEY, v text);
CREATE TABLE parted (id int, r text) PARTITION BY LIST (r);
CREATE TABLE parted_a PARTITION OF parted FOR VALUES IN ('a');
CREATE TABLE parted_b PARTITION OF parted FOR VALUES IN ('b');`;
const DATA = `
INSERT INTO nokey SELECT g, 'n' FROM generate_series(1, 20) g;
INSERT INTO uniq SELECT g, 'u' FROM generate_series(1, 20) g;
INSERT INTO nothing SELECT g, 'x' FROM generate_series(1, 20) g;
INSERT INTO keyed SELECT g, 'k' FROM generate_series(1, 20) g;
INSERT INTO parted SELECT g, CASE WHEN g % 2 = 0 THEN 'a' ELSE 'b' END FROM generate_series(1, 20) g;`;

/** Each table's replica identity: "name:d|n|f|i[ index]". */
async function identities(c: EmbeddedCluster, db: string): Promise<string[]> {
  const rows = await c.sql<{ x: string }>(
    `SELECT c.relname || ':' || c.relreplident::text || coalesce(' ' || (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident), '') AS x
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1`, [], db);
  return rows.map((r) => r.x);
}

/** pgshift's bookkeeping schema in the maintenance database. */
async function bookkeeping(c: EmbeddedCluster): Promise<string[]> {
  return (await c.sql<{ t: string }>("SELECT c.relname::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift' ORDER BY 1")).map((r) => r.t);
}

async function setUp(prefix: string): Promise<{ db: string; cli: (args: string[]) => ReturnType<typeof runCli>; original: { source: string[]; target: string[] } }> {
  const db = await pair.freshDatabase(prefix);
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) await c.sql(DDL, [], db);
  await pair.source.sql(DATA, [], db);
  const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
  const cli = (args: string[]) => runCli(['-c', cfg, '--yes', ...args], { env: pair.env(), timeoutMs: 180_000 });
  const original = { source: await identities(pair.source, db), target: await identities(pair.target, db) };
  const started = await cli(['start', db]);
  assert.equal(started.code, 0, started.stderr);
  assert.equal((await cli(['wait', db, '--timeout', '2m'])).code, 0);
  return { db, cli, original };
}

test(`cleanup after a switchover ${FROM}->${TO} puts back every replica identity pgshift set, on both sides, and says so`, async () => {
  const { db, cli, original } = await setUp('ident');
  const changed = ['already_full:f', 'keyed:d', 'nokey:f', 'nothing:i nothing_pkey', 'parted:f', 'parted_a:f', 'parted_b:f', 'uniq:i uniq_a'];
  assert.deepEqual(await identities(pair.source, db), changed);
  assert.deepEqual(await identities(pair.target, db), changed, 'mirrored on the target');

  const sw = await cli(['switchover', db]);
  assert.equal(sw.code, 0, sw.stderr);
  await pair.target.sql("UPDATE nokey SET b = 'after'; DELETE FROM uniq WHERE a = 1", [], db);

  const clean = await cli(['cleanup', db]);
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(await identities(pair.source, db), original.source, 'source identities as before pgshift');
  assert.deepEqual(await identities(pair.target, db), original.target, 'target identities as before pgshift');
  for (const side of ['source', 'target']) {
    assert.match(clean.stderr, new RegExp(`replica identity put back on the ${side}: 4 table\\(s\\) FULL -> DEFAULT \\(as before pgshift\\): public\\.nokey, public\\.parted, public\\.parted_a, public\\.parted_b`));
    assert.match(clean.stderr, new RegExp(`replica identity put back on the ${side}: 1 table\\(s\\) USING INDEX -> NOTHING \\(as before pgshift\\): public\\.nothing`));
    assert.match(clean.stderr, new RegExp(`replica identity put back on the ${side}: 1 table\\(s\\) USING INDEX -> DEFAULT \\(as before pgshift\\): public\\.uniq`));
  }
  assert.deepEqual(await bookkeeping(pair.source), [], 'no record left on the source');
  assert.deepEqual(await bookkeeping(pair.target), [], 'no record left on the target');

  const again = await cli(['--json', 'cleanup', db]);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual((JSON.parse(again.stdout) as { identities: unknown[] }).identities, []);
});

test('cleanup with the target down puts back the source\'s identities and says what is left; a second cleanup, once it is back, does the target\'s', async () => {
  const { db, cli, original } = await setUp('identdown');
  await pair.target.stopServer('immediate');
  try {
    const clean = await cli(['--json', 'cleanup', db]);
    assert.equal(clean.code, 1, clean.stderr);
    const doc = JSON.parse(clean.stdout) as { identities: { side: string; restored: { table: string; from: string; to: string }[] }[]; left: { side: string; objects: string[]; sql: string[] }[] };
    assert.deepEqual(doc.identities.map((i) => [i.side, i.restored.length]), [['source', 6]]);
    assert.deepEqual(await identities(pair.source, db), original.source);
    const left = doc.left.find((l) => l.side === 'target')!;
    assert.ok(left.objects.some((o) => /replica identities pgshift set/.test(o)), JSON.stringify(left));
    assert.ok(left.sql.some((x) => x.includes(`pgshift cleanup ${db}`)), JSON.stringify(left));
  } finally {
    await pair.target.startServer();
  }
  const again = await cli(['cleanup', db]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /replica identity put back on the target: 4 table\(s\) FULL -> DEFAULT/);
  assert.deepEqual(await identities(pair.target, db), original.target);
  assert.deepEqual(await bookkeeping(pair.source), []);
  assert.deepEqual(await bookkeeping(pair.target), []);
});
