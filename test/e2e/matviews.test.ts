// Materialized views around a switchover and a rollback (issue 11, finding
// 3), 14 -> 17 through the CLI. The target's views come from a schema-only
// copy, unpopulated, and replication does not fill them: the switchover must
// populate the ones the source has populated before it pauses, refresh them
// again after it resumes (a view reading another after it; CONCURRENTLY where
// a unique index allows), leave a view the source never populated alone, and
// the rollback must leave the source's views current. A view that cannot be
// populated on the target refuses the switchover before anything is paused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import type { MoveResult } from '../../src/switchover/move-writes.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

const TABLES = `
CREATE TABLE t (id int PRIMARY KEY, type text NOT NULL, amt int NOT NULL);
CREATE FUNCTION weight(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2';`;
/** The views, on the source populated (but mv_nodata), on the target as a schema-only restore leaves them. */
function views(withData: boolean): string {
  const data = withData ? 'WITH DATA' : 'WITH NO DATA';
  return `
CREATE MATERIALIZED VIEW mv_sum AS SELECT type, sum(weight(amt))::int AS total FROM t GROUP BY type ${data};
CREATE UNIQUE INDEX mv_sum_type ON mv_sum (type);
CREATE VIEW positive AS SELECT * FROM mv_sum WHERE total > 0;
CREATE MATERIALIZED VIEW mv_on_view AS SELECT count(*)::int AS n, sum(total)::int AS total FROM positive ${data};
CREATE MATERIALIZED VIEW mv_nodata AS SELECT count(*)::int AS n FROM t WITH NO DATA;`;
}

/** A view's contents and what its query gives now. */
async function contents(c: EmbeddedCluster, db: string): Promise<{ sum: string; fresh: string; onView: string; freshOnView: string }> {
  const one = async (q: string) => (await c.sql<{ r: string }>(q, [], db))[0]!.r;
  return {
    sum: await one('SELECT coalesce(json_agg(m ORDER BY type), \'[]\')::text AS r FROM mv_sum m'),
    fresh: await one("SELECT coalesce(json_agg(m ORDER BY type), '[]')::text AS r FROM (SELECT type, sum(weight(amt))::int AS total FROM t GROUP BY type) m"),
    onView: await one('SELECT row(n, total)::text AS r FROM mv_on_view'),
    freshOnView: await one('SELECT row(count(*)::int, sum(total)::int)::text AS r FROM (SELECT type, sum(weight(amt))::int AS total FROM t GROUP BY type HAVING sum(weight(amt)) > 0) m'),
  };
}

async function populated(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ v: string }>("SELECT matviewname || ':' || ispopulated AS v FROM pg_matviews WHERE schemaname = 'public' ORDER BY 1", [], db)).map((r) => r.v);
}

async function setUp(prefix: string): Promise<{ db: string; cli: (args: string[]) => ReturnType<typeof runCli> }> {
  const db = await pair.freshDatabase(prefix);
  await pair.target.createDatabase(db);
  await pair.source.sql(TABLES, [], db);
  await pair.source.sql("INSERT INTO t SELECT g, 'type' || (g % 5), g FROM generate_series(1, 1000) g", [], db);
  await pair.source.sql(views(true), [], db);
  await pair.target.sql(TABLES + views(false), [], db);
  const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
  const cli = (args: string[]) => runCli(['-c', cfg, '--yes', ...args], { env: pair.env(), timeoutMs: 180_000 });
  const started = await cli(['start', db]);
  assert.equal(started.code, 0, started.stderr);
  assert.equal((await cli(['wait', db, '--timeout', '2m'])).code, 0);
  return { db, cli };
}

test(`switchover ${FROM}->${TO} leaves no view unpopulated or stale on the new primary, and rollback none on the source`, async () => {
  const { db, cli } = await setUp('mv');
  assert.deepEqual(await populated(pair.target, db), ['mv_nodata:false', 'mv_on_view:false', 'mv_sum:false']);
  // Written after the views were filled on the source: the target's must show them too.
  await pair.source.sql("INSERT INTO t VALUES (5001, 'late', 7), (5002, 'type1', 100)", [], db);

  const sw = await cli(['--json', 'switchover', db]);
  assert.equal(sw.code, 0, sw.stderr);
  assert.deepEqual(await populated(pair.target, db), ['mv_nodata:false', 'mv_on_view:true', 'mv_sum:true'], 'a view the source never populated stays so');
  const onTarget = await contents(pair.target, db);
  assert.equal(onTarget.sum, onTarget.fresh);
  assert.equal(onTarget.onView, onTarget.freshOnView);
  assert.match(onTarget.sum, /"late"/);

  const r = JSON.parse(sw.stdout) as MoveResult;
  assert.deepEqual(r.views.populated.map((v) => v.view), ['public.mv_sum', 'public.mv_on_view'], 'populated before the pause, in dependency order');
  assert.deepEqual(r.views.refreshed.map((v) => [v.view, v.concurrently, v.error ?? null]), [['public.mv_sum', true, null], ['public.mv_on_view', false, null]]);
  const phases = r.timeline.phases.map((p) => `${p.phase}${p.inPause ? '*' : ''}`);
  assert.ok(phases.indexOf('populate-views') < phases.indexOf('pause*') && phases.indexOf('refresh-views') > phases.indexOf('resume*'), phases.join(' '));
  assert.match(sw.stderr, /materialized view public\.mv_sum refreshed concurrently on the target in \d+ ms \(1\/2\)/);

  // Writes on the new primary, then back: the source's views must show them.
  await pair.target.sql("INSERT INTO t VALUES (6001, 'after', 11); UPDATE t SET amt = amt + 1 WHERE id <= 10", [], db);
  const rb = await cli(['--json', 'rollback', db]);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual((JSON.parse(rb.stdout) as MoveResult).views.refreshed.map((v) => v.error ?? null), [null, null]);
  const onSource = await contents(pair.source, db);
  assert.equal(onSource.sum, onSource.fresh, 'the source view is current after the rollback');
  assert.equal(onSource.onView, onSource.freshOnView);
  assert.match(onSource.sum, /"after"/);
  assert.deepEqual(await populated(pair.source, db), ['mv_nodata:false', 'mv_on_view:true', 'mv_sum:true']);
});

test('a view the target cannot populate refuses the switchover before writes pause; fixed, it goes through', async () => {
  const { db, cli } = await setUp('mvbad');
  // The target's weight() fails: its view cannot be populated there.
  await pair.target.sql("CREATE OR REPLACE FUNCTION weight(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$ BEGIN RAISE EXCEPTION 'weight is broken here'; END $$", [], db);
  const refused = await cli(['switchover', db]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /materialized view\(s\) populated on the source cannot be populated on the target.*public\.mv_sum \(.*weight is broken here/);
  assert.match(refused.stderr, /Writes were not paused/);
  await pair.source.sql("INSERT INTO t VALUES (7001, 'still writable', 1)", [], db);
  assert.deepEqual(await pair.source.sql("SELECT 1 FROM pg_database WHERE datname = $1 AND has_database_privilege('public', oid, 'CONNECT')", [db]), [{ '?column?': 1 }], 'not fenced');

  await pair.target.sql("CREATE OR REPLACE FUNCTION weight(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 2'", [], db);
  const sw = await cli(['switchover', db]);
  assert.equal(sw.code, 0, sw.stderr);
  const onTarget = await contents(pair.target, db);
  assert.equal(onTarget.sum, onTarget.fresh);
});
