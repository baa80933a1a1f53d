// The version matrix's 15 -> 17 (versions-scenario.ts: run, verify,
// switchover, reverse replication, cleanup under write load), sharing the
// clusters of:
// start / wait / status on 15 -> 17 with the schema put on the target by the
// test itself (the roles and schema steps are tested on their own): the
// fixture schema replicates under write load, every table's rows end up
// identical, re-running start changes nothing, and a table added to the
// source later is picked up by the next start. Then a hostile password and
// user reach the source through conn_from_target, and unlogged / unkeyable
// tables are reported instead of published.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pair, qi, runCli, tableRows, versionPairs } from '../helpers/harness.js';
import { quoteLiteral as ql } from '../../src/pg/quote.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { loadConfig } from '../../src/config/config.js';
import { namesFor } from '../../src/replication/names.js';
import { tablesReplicationCannotCarry } from '../../src/steps/start.js';
import { createFixtureSchema, fillFixture } from '../helpers/fixture-schema.js';
import { assertSameRows, assertStatusShape, objectCounts, startLoad, waitForCatchUp } from '../helpers/replication-scenario.js';
import { versionsRun } from '../helpers/versions-scenario.js';

const [[FROM, TO]] = versionPairs([[15, 17]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

test(`start + wait replicate the fixture under load, ${FROM} -> ${TO}; start is idempotent`, async () => {
  const db = await pair.freshDatabase('Rep "q";ü', { onTarget: true });
  await createFixtureSchema(pair.source, db);
  await createFixtureSchema(pair.target, db);
  await fillFixture(pair.source, db, 1500);
  const cfg = await pair.writeConfig([db]);
  const env = pair.env();
  const load = await startLoad(pair.source, db);
  let committed: number;
  try {
    const start = await runCli(['-c', cfg, 'start', db], { env });
    assert.equal(start.code, 0, start.stderr);
    assert.match(start.stderr, /holds the source password/);
    assert.ok(!start.stderr.includes(pair.source.password));
    const again = await runCli(['-c', cfg, '--json', 'start', db], { env });
    assert.equal(again.code, 0, again.stderr);
    const r = JSON.parse(again.stdout) as { publication: { action: string }; subscription: { action: string } };
    assert.equal(r.publication.action, 'unchanged');
    assert.equal(r.subscription.action, 'unchanged');
    const wait = await runCli(['-c', cfg, '--json', 'wait', db, '--timeout', '120s', '--interval', '500ms'], { env, timeoutMs: 150_000 });
    assert.equal(wait.code, 0, wait.stderr);
  } finally {
    committed = await load.stop();
  }
  assert.ok(committed > 20, `only ${committed} write transactions ran during the copy`);
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });

  // Identity planned for the PK-less tables, on both sides.
  for (const c of [pair.source, pair.target]) {
    const rows = await c.sql<{ relname: string; relreplident: string }>(
      "SELECT relname, relreplident FROM pg_class WHERE relname IN ('no_pk_unique', 'no_pk_dups') ORDER BY 1", [], db);
    assert.deepEqual(rows.map((x) => `${x.relname}:${x.relreplident}`), ['no_pk_dups:f', 'no_pk_unique:i']);
  }

  const st = await runCli(['-c', cfg, '--json', 'status', db], { env });
  assert.equal(st.code, 0, st.stderr + st.stdout);
  const doc = JSON.parse(st.stdout) as { databases: Record<string, unknown>[] };
  assert.equal(doc.databases.length, 1);
  const s = doc.databases[0]!;
  assertStatusShape(s);
  assert.equal(s.phase, 'streaming');
  assert.equal(s.tablesReady, s.tablesTotal);
  assert.ok((s.tables as { state: string }[]).every((t) => t.state === 'ready'));
  assert.equal(typeof s.lagBytes, 'number');
  assert.deepEqual(s.problems, []);

  // A table created later is published and copied by the next start.
  await pair.source.sql('CREATE TABLE app.later (id int PRIMARY KEY, v text); INSERT INTO app.later SELECT g, md5(g::text) FROM generate_series(1, 500) g', [], db);
  await pair.target.sql('CREATE TABLE app.later (id int PRIMARY KEY, v text)', [], db);
  const third = await runCli(['-c', cfg, '--json', 'start', db], { env });
  assert.equal(third.code, 0, third.stderr);
  const r3 = JSON.parse(third.stdout) as { publication: { action: string }; subscription: { action: string } };
  assert.deepEqual([r3.publication.action, r3.subscription.action], ['updated', 'refreshed']);
  await waitForCatchUp(pair.source, pair.target, db);
  const count = await pair.target.sql<{ n: string }>('SELECT count(*) AS n FROM app.later', [], db);
  assert.equal(Number(count[0]!.n), 500);
});

test('hostile source password and user through conn_from_target; tables replication cannot carry are reported, not published', async () => {
  const db = await pair.freshDatabase('carry', { onTarget: true });
  const user = 'rep "user"; ü';
  const password = `p' \\ @ % "x" ;--`;
  await pair.source.sql(`CREATE ROLE ${qi(user)} SUPERUSER LOGIN PASSWORD ${ql(password)}`);
  const ddl = `CREATE TABLE public.plain (id int PRIMARY KEY, v text);
    CREATE UNLOGGED TABLE public.scratch (id int PRIMARY KEY);
    CREATE TABLE public.no_key_json (doc json, n int);
    CREATE TABLE public.plog (ts date NOT NULL, v text) PARTITION BY RANGE (ts);
    CREATE TABLE public.plog_a PARTITION OF public.plog FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
    CREATE TABLE public.plog_b PARTITION OF public.plog FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');`;
  await pair.source.sql(ddl, [], db);
  await pair.target.sql(ddl, [], db);
  await pair.source.sql(`INSERT INTO public.plain SELECT g, 'v' || g FROM generate_series(1, 100) g; INSERT INTO public.no_key_json VALUES ('{}', 1);
    INSERT INTO public.plog SELECT date '2020-06-01' + (g % 400), 'p' || (g % 7) FROM generate_series(1, 300) g`, [], db);
  const [ss, ts] = await Promise.all([pair.source.systemIdentifier(), pair.target.systemIdentifier()]);
  const cfg = join(pair.dir, 'hostile.yml');
  writeFileSync(cfg, `source:
  conn: ${JSON.stringify(formatConninfo(pair.source.params('postgres', user)))}
  password: \${SRC_PW}
  system_identifier: "${ss}"
  conn_from_target: ${JSON.stringify(formatConninfo({ host: '127.0.0.1', port: String(pair.source.port), user }))}
target:
  conn: ${JSON.stringify(formatConninfo(pair.target.params()))}
  password: \${PGSHIFT_TARGET_PASSWORD}
  system_identifier: "${ts}"
databases:
  ${JSON.stringify(db)}: {}
`);
  const env = { SRC_PW: password, PGSHIFT_TARGET_PASSWORD: pair.target.password };
  const r = await runCli(['-c', cfg, 'start', db], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes(password) && !r.stderr.includes("p'"), 'the password was printed');
  assert.match(r.stderr, /public\.scratch is not replicated \(unlogged/);
  assert.match(r.stderr, /public\.no_key_json is not replicated \(.*no equality operator/);
  const published = await pair.source.sql<{ tablename: string }>('SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1', [namesFor(db).publication], db);
  assert.deepEqual(published.map((t) => t.tablename), ['plain', 'plog']);
  const config = loadConfig(cfg, env);
  assert.deepEqual((await tablesReplicationCannotCarry(config, db)).map((t) => `${t.schema}.${t.name}`).sort(), ['public.no_key_json', 'public.scratch']);

  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '60s'], { env, timeoutMs: 90_000 });
  assert.equal(w.code, 0, w.stderr);
  // A partitioned table without a primary key: UPDATE, cross-partition UPDATE and DELETE of duplicate-looking rows.
  await pair.source.sql(`UPDATE public.plog SET v = v || '!' WHERE v = 'p1';
    UPDATE public.plog SET ts = ts + 365 WHERE v = 'p2' AND ts < '2020-09-01';
    DELETE FROM public.plog WHERE v = 'p3'; UPDATE public.plain SET v = 'changed' WHERE id % 10 = 0`, [], db);
  await waitForCatchUp(pair.source, pair.target, db);
  for (const t of ['plain', 'plog', 'plog_a', 'plog_b']) {
    assert.deepEqual(await tableRows(pair.target, db, 'public', t), await tableRows(pair.source, db, 'public', t), t);
  }
});

test(`${FROM} -> ${TO} under write load: check, run, verify, switchover, reverse replication, cleanup`, async () => {
  await versionsRun(pair, { prefix: `v${FROM}_${TO}` });
});
