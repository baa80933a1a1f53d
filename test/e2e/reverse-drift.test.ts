// Rollback on a drifted target (issue 11, findings 10 and 9), through the CLI.
// The Django/Aurora case: the target was provisioned with the application's
// new schema (`schema --existing`), with columns the source lacks. Reverse
// replication must carry only what the source can take (a column list, 15+
// publishers), a key-less drifted table is copied at rollback instead, the
// switchover reports the rollback path ready only once the source has
// confirmed the target's changes, `status` shows which way replication runs
// and a broken reverse stream as a problem, and a target before 15 (no column
// lists) refuses reverse replication before the switchover, leaving the
// choice of --no-reverse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, waitFor } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import type { MoveResult } from '../../src/switchover/move-writes.js';
import { type DatabaseStatus } from '../../src/status/model.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

const [[FROM, TO], [OLD_FROM, OLD_TO]] = versionPairs([[14, 17], [13, 14]]) as [[number, number], [number, number]];
let pair: Pair;
let oldPair: Pair | undefined;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await Promise.all([pair?.stop(), oldPair?.stop()]);
});

const SOURCE_DDL = `
CREATE TABLE shop_customer (id serial PRIMARY KEY, name text NOT NULL);
CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), msg text);
CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL);`;
// The application's new schema, provisioned on the target before the migration.
const TARGET_DDL = `
CREATE TABLE shop_customer (id serial PRIMARY KEY, name text NOT NULL, tier varchar NOT NULL DEFAULT 'basic', created_at timestamptz DEFAULT now());
CREATE TABLE audit (at timestamptz NOT NULL DEFAULT now(), msg text, extra int);
CREATE TABLE orders (id int PRIMARY KEY, amount int NOT NULL);`;
const DATA = `
INSERT INTO shop_customer (name) SELECT 'customer ' || g FROM generate_series(1, 200) g;
INSERT INTO audit (msg) SELECT 'm' || g FROM generate_series(1, 5) g;
INSERT INTO orders SELECT g, g * 10 FROM generate_series(1, 50) g;`;

async function drifted(p: Pair, prefix: string): Promise<{ db: string; cli: (args: string[]) => ReturnType<typeof runCli> }> {
  const db = await p.freshDatabase(prefix, { onTarget: true });
  await p.source.sql(SOURCE_DDL + DATA, [], db);
  await p.target.sql(TARGET_DDL, [], db);
  const cfg = await p.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
  const cli = (args: string[]) => runCli(['-c', cfg, '--yes', ...args], { env: p.env(), timeoutMs: 180_000 });
  for (const step of [['schema', db, '--existing'], ['start', db], ['wait', db, '--timeout', '2m']]) {
    const r = await cli(step);
    assert.equal(r.code, 0, `${step.join(' ')}: ${r.stderr}`);
  }
  return { db, cli };
}

async function value(c: EmbeddedCluster, db: string, sql: string): Promise<string | null> {
  return (await c.sql<{ v: string | null }>(sql, [], db))[0]?.v ?? null;
}

test(`drifted target ${FROM}->${TO}: reverse replication carries what the source can take, the rollback path is verified, status shows it and a broken reverse stream`, async () => {
  const { db, cli } = await drifted(pair, 'django');
  const check = await cli(['check', db]);
  assert.match(check.stderr, /1 table\(s\) on the target have columns the source lacks and a replica identity that needs them: .*a rollback copies them/);
  const sw = await cli(['--json', 'switchover', db]);
  assert.equal(sw.code, 0, sw.stderr);

  // The new primary's writes reach the source, the extra columns left out.
  await pair.target.sql("INSERT INTO shop_customer (name, tier) VALUES ('new on 17', 'gold'); UPDATE shop_customer SET name = 'renamed' WHERE id = 1; DELETE FROM shop_customer WHERE id = 2; INSERT INTO audit (msg, extra) VALUES ('on the target', 7); UPDATE orders SET amount = amount + 1 WHERE id = 3", [], db);
  await waitFor(async () => (await value(pair.source, db, "SELECT count(*)::text AS v FROM shop_customer WHERE name = 'new on 17'")) === '1',
    { timeoutMs: 30_000, what: 'the target\'s insert to reach the source through reverse replication' });
  assert.equal(await value(pair.source, db, 'SELECT name AS v FROM shop_customer WHERE id = 1'), 'renamed');
  assert.equal(await value(pair.source, db, 'SELECT count(*)::text AS v FROM shop_customer WHERE id = 2'), '0');
  assert.equal(await value(pair.source, db, 'SELECT amount::text AS v FROM orders WHERE id = 3'), '31');

  const r = JSON.parse(sw.stdout) as MoveResult;
  assert.equal(r.reverseVerified, true, r.reverseProblem);
  assert.match(problemOf(r.warnings, 'table_not_reversed')?.message ?? '', /public\.audit is not carried by reverse replication: .*extra/, problemLines(r.warnings));
  const published = await pair.target.sql<{ t: string; a: string }>(
    "SELECT tablename AS t, attnames::text AS a FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1", [`pgshift_${db}_rev`], db);
  assert.deepEqual(published.map((x) => `${x.t} ${x.a}`), ['orders {id,amount}', 'shop_customer {id,name}']);

  // status, human and JSON: which way replication runs, and that it is healthy.
  const human = await cli(['status', db]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, new RegExp(`${db}: switched over, writes go to the target; reverse replication target -> source streaming, lag \\S+ \\S+, slot pgshift_${db}_rev on the target active`));
  assert.doesNotMatch(human.stderr, /0\/0 tables ready|no slot/);

  // DDL on the new primary that the source does not get: the reverse stream breaks at the next change.
  await pair.target.sql('ALTER TABLE orders ADD COLUMN note text', [], db);
  const broken = await cli(['--json', 'status', db]);
  assert.equal(broken.code, 1, broken.stdout);
  const st = (JSON.parse(broken.stdout) as { databases: DatabaseStatus[] }).databases[0]!;
  assert.deepEqual(st.reverse!.columnProblems, ['public.orders: the target publishes column(s) note, which the source lacks']);
  assert.match(problemOf(st.problems, 'reverse_columns_missing')?.message ?? '', /reverse replication target -> source is broken: public\.orders/, problemLines(st.problems));
  const brokenHuman = await cli(['status', db]);
  assert.equal(brokenHuman.code, 1);
  assert.match(brokenHuman.stderr, /reverse replication target -> source BROKEN/);

  // Fixed on the source: healthy again, and the rollback brings everything back (audit copied).
  await pair.source.sql('ALTER TABLE orders ADD COLUMN note text', [], db);
  await pair.target.sql("UPDATE orders SET note = 'after the fix' WHERE id = 4", [], db);
  await waitFor(async () => (await value(pair.source, db, 'SELECT note AS v FROM orders WHERE id = 4')) === 'after the fix', { timeoutMs: 60_000, what: 'the reverse stream to carry the new column' });
  const rb = await cli(['--json', 'rollback', db]);
  assert.equal(rb.code, 0, rb.stderr);
  assert.deepEqual((JSON.parse(rb.stdout) as MoveResult).copied?.map((c) => `${c.table}:${c.rows}`), ['public.audit:6']);
  assert.equal(await value(pair.source, db, "SELECT count(*)::text AS v FROM audit WHERE msg = 'on the target'"), '1');
});

test(`a target before 15 (${OLD_FROM}->${OLD_TO}) cannot leave columns out: reverse replication is refused before the switchover, --no-reverse goes through`, async () => {
  oldPair = await Pair.start(OLD_FROM, OLD_TO);
  const { db, cli } = await drifted(oldPair, 'django14');
  // check says so before the switchover, with the choice.
  const check = await cli(['check', db]);
  assert.match(check.stderr, /warn +target +2 table\(s\) on the target have columns the source lacks, which reverse replication \(the rollback path\) cannot leave out: the switchover refuses reverse replication/);
  assert.match(check.stderr, /fix: Switch over without reverse replication \(--no-reverse/);
  const refused = await cli(['switchover', db]);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, new RegExp(`reverse replication \\(target -> source, the rollback path\\) cannot carry 2 table\\(s\\) with columns the source lacks: public\\.audit \\(extra: the target is PostgreSQL ${OLD_TO}.*public\\.shop_customer \\(tier, created_at`));
  assert.match(refused.stderr, /--no-reverse/);
  // Nothing was paused or created: the source still takes writes, no reverse objects.
  await oldPair.source.sql("INSERT INTO shop_customer (name) VALUES ('still the primary')", [], db);
  assert.deepEqual(await oldPair.target.sql('SELECT pubname FROM pg_publication', [], db), []);
  assert.deepEqual(await oldPair.source.sql('SELECT subname FROM pg_subscription'), []);

  const sw = await cli(['switchover', db, '--no-reverse']);
  assert.equal(sw.code, 0, sw.stderr);
  assert.match(sw.stderr, /no reverse replication \(--no-reverse\)/);
  const st = await cli(['status', db]);
  assert.match(st.stderr, /switched over, writes go to the target; no reverse replication/);
});
