// Inheritance trees (issue 11, finding 2), through the CLI on 12 -> 17 and
// 15 -> 17: a parent pgshift replicates whose child it cannot (a polygon
// column, no key) must not drag that child into the publication, or every
// UPDATE/DELETE touching the child fails on the live source ("does not have a
// replica identity and publishes updates"), and again on the new primary
// through the reverse publication. Re-running start converges; the child is
// copied at switchover.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const PAIRS = versionPairs([[12, 17], [15, 17]]);
const pairs: Pair[] = [];
before(async () => {
  for (const [from, to] of PAIRS) pairs.push(await Pair.start(from, to));
});
after(async () => {
  await Promise.all(pairs.map((p) => p.stop()));
});

// a_star and b_star get REPLICA IDENTITY FULL; f_star cannot (polygon has no
// equality operator), so it is left out and copied at switchover. keyed has a
// primary key its child does not inherit; parted is partitioned (published as
// leaves on 12, through its root on 13+).
const SCHEMA = `
CREATE TABLE a_star (class char, a int4);
CREATE TABLE b_star (b text) INHERITS (a_star);
CREATE TABLE f_star (f int4, ff polygon) INHERITS (a_star);
CREATE TABLE keyed (id int PRIMARY KEY, v text);
CREATE TABLE keyed_child (w text) INHERITS (keyed);
CREATE TABLE parted (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');
CREATE TABLE parted_us PARTITION OF parted FOR VALUES IN ('us');
INSERT INTO a_star VALUES ('a', 1), ('a', 2);
INSERT INTO b_star VALUES ('b', 3, 'x');
INSERT INTO f_star VALUES ('f', 4, 40, '((1,1),(2,2),(3,1))'), ('f', 5, 50, '((0,0),(1,1))');
INSERT INTO keyed VALUES (1, 'k');
INSERT INTO keyed_child VALUES (2, 'c', 'w');
INSERT INTO parted VALUES (1, 'eu', 'e'), (2, 'us', 'u');`;

/** Statements an application runs on every table of the fixture; each must keep working. */
const APP_STATEMENTS = [
  "UPDATE a_star SET a = a + 100 WHERE class = 'a'",
  'UPDATE a_star SET a = a + 1000', // the parent, recursing into b_star and f_star
  'UPDATE f_star SET f = f + 1',
  "DELETE FROM f_star WHERE f = 51 OR f = 1051",
  "UPDATE b_star SET b = 'y'",
  'UPDATE keyed SET v = v', // recurses into keyed_child, which has no key
  "DELETE FROM keyed_child WHERE w = 'none'",
  "UPDATE parted SET v = v || '!'",
  "DELETE FROM parted WHERE region = 'none'",
];

async function runApp(c: EmbeddedCluster, side: string, db: string): Promise<void> {
  for (const s of APP_STATEMENTS) {
    await c.sql(s, [], db).catch((e: Error) => {
      throw new Error(`on the ${side}: "${s}" failed: ${e.message}`);
    });
  }
}

async function published(c: EmbeddedCluster, db: string, pub: string): Promise<string[]> {
  const rows = await c.sql<{ t: string }>(
    'SELECT r.prrelid::regclass::text AS t FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid WHERE p.pubname = $1 ORDER BY 1', [pub], db);
  return rows.map((r) => r.t);
}

for (const [i, [from, to]] of PAIRS.entries()) {
  test(`inheritance ${from}->${to}: a child pgshift cannot replicate is not published; the application's UPDATE/DELETE keep working on both sides; start converges`, async () => {
    const pair = pairs[i]!;
    const db = await pair.freshDatabase('inh');
    await pair.target.createDatabase(db);
    // The same tables on the target (pgshift schema would copy them; created here, the test depends on nothing else).
    await pair.target.sql(SCHEMA.split('\nINSERT')[0]!, [], db);
    await pair.source.sql(SCHEMA, [], db);
    const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
    const cli = (args: string[]) => runCli(['-c', cfg, '--yes', ...args], { env: pair.env(), timeoutMs: 180_000 });

    const started = await cli(['--json', 'start', db]);
    assert.equal(started.code, 0, started.stderr);
    const start = JSON.parse(started.stdout) as { notCarried: { name: string }[] };
    assert.deepEqual(start.notCarried.map((n) => n.name), ['f_star']);
    // The application's statements on the live source.
    await runApp(pair.source, 'source', db);
    const pub = await published(pair.source, db, `pgshift_${db}`);
    assert.ok(!pub.includes('f_star'), `f_star must not be published: ${pub.join(', ')}`);

    // A second start has nothing to change.
    const again = await cli(['--json', 'start', db]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { publication: { action: string } }).publication.action, 'unchanged');

    assert.equal((await cli(['wait', db, '--timeout', '2m'])).code, 0);
    const sw = await cli(['switchover', db]);
    assert.equal(sw.code, 0, sw.stderr);
    assert.match(sw.stderr, /copied while paused: .*public\.f_star \(1 rows\)/);
    const rows = (c: EmbeddedCluster) => c.sql<{ r: string }>('SELECT array_agg(t::text ORDER BY t::text)::text AS r FROM a_star t', [], db);
    assert.deepEqual(await rows(pair.target), await rows(pair.source), 'the tree arrived, f_star copied at switchover');
    assert.ok(!(await published(pair.target, db, `pgshift_${db}_rev`)).includes('f_star'), 'f_star is not in the reverse publication');

    // The same statements on the new primary, under the reverse publication.
    await runApp(pair.target, 'target', db);
    // verify after the switchover reads the other way round (the target takes
    // the writes, the reverse slot carries them back) and reports f_star, which
    // the new primary changed and only a rollback copies back, as such.
    const v = await cli(['--json', 'verify', db]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const report = JSON.parse(v.stdout) as { live: boolean; tables: { table: string; status: string; note?: string }[] };
    assert.equal(report.live, true, 'verify waits on the reverse replication');
    const f = report.tables.find((t) => t.table === 'public.f_star');
    assert.equal(f?.status, 'deferred', JSON.stringify(f));
    assert.match(f!.note!, /a rollback copies it to the source/);
    assert.ok(report.tables.filter((t) => t.table !== 'public.f_star').every((t) => t.status === 'same'), v.stdout);
    assert.equal((await cli(['cleanup', db])).code, 0);
  });
}

test('a partition created after start, published through its key-less root without an identity: status names it, start again gives it one', async () => {
  const i = PAIRS.findIndex(([from]) => from >= 13);
  if (i < 0) return;
  const pair = pairs[i]!;
  const db = await pair.freshDatabase('newpart', { onTarget: true });
  const ddl = `CREATE TABLE events (at date NOT NULL, v text) PARTITION BY RANGE (at);
    CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');`;
  for (const c of [pair.source, pair.target]) await c.sql(ddl, [], db);
  await pair.source.sql("INSERT INTO events VALUES ('2024-01-05', 'a')", [], db);
  const cfg = await pair.writeConfig([db]);
  const cli = (args: string[]) => runCli(['-c', cfg, '--yes', ...args], { env: pair.env(), timeoutMs: 180_000 });
  assert.equal((await cli(['start', db])).code, 0);
  assert.equal((await cli(['wait', db, '--timeout', '2m'])).code, 0);

  // The application adds next month's partition (pg_partman would): it has no identity of its own.
  const next = "CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM ('2024-02-01') TO ('2024-03-01')";
  for (const c of [pair.source, pair.target]) await c.sql(next, [], db);
  await pair.source.sql("INSERT INTO events VALUES ('2024-02-05', 'b')", [], db);
  const st = await cli(['status', db]);
  assert.equal(st.code, 1, st.stderr);
  // The problem, then on the next line what to do (status prints a problem's fix under it).
  assert.match(st.stderr, new RegExp(`UPDATE and DELETE fail on the source for 1 table\\(s\\) publication pgshift_${db} publishes without a usable replica identity: public\\.events_2 .*\\n\\s*fix: .*pgshift start ${db}" again`));

  assert.equal((await cli(['start', db])).code, 0);
  await pair.source.sql("UPDATE events SET v = 'b2' WHERE at = '2024-02-05'", [], db);
  const again = await cli(['status', db]);
  assert.doesNotMatch(again.stderr, /UPDATE and DELETE fail/);
  assert.equal((await cli(['cleanup', db])).code, 0);
});
