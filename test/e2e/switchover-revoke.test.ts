// Switchover with the revoke fence and no PgBouncer (13 -> 16), then
// rollback: clients are cut off, every acknowledged write is on the target,
// nothing commits on the source after the fence, sequences of every kind
// arrive with their exact state, an unlogged table is copied during the
// pause; rollback brings the target's rows and sequences back to the source
// without any change looping, and forward replication then carries a source
// write to the target once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Pair, runCli, waitFor, versionPairs } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { startAndWait, LEDGER_SQL } from '../helpers/switchover-fixture.js';
import { namesFor } from '../../src/replication/names.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const [[FROM, TO]] = versionPairs([[13, 16]]) as [[number, number]];
const APP_PASSWORD = "app pw ' \\ @ %";
let pair: Pair;
let db: string;
let cfgPath: string;

const SCHEMA = [
  LEDGER_SQL,
  'CREATE TABLE owned (id serial PRIMARY KEY, v text)',
  'CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)',
  'CREATE SEQUENCE standalone START 100 INCREMENT 5',
  'CREATE SEQUENCE never_called START 42',
  'CREATE UNLOGGED TABLE scratch (v int)',
  'GRANT ALL ON ALL TABLES IN SCHEMA public TO app',
  'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app',
];
const SEQS = ['ledger_id_seq', 'owned_id_seq', 'ident_id_seq', 'standalone', 'never_called'];

before(async () => {
  pair = await Pair.start(FROM, TO);
  for (const c of [pair.source, pair.target]) await c.sql(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD.replace(/'/g, "''")}'`);
  db = await pair.freshDatabase('rev');
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) for (const s of SCHEMA) await c.sql(s, [], db);
  await pair.source.sql("INSERT INTO owned (v) SELECT 'o' || g FROM generate_series(1, 3) g", [], db);
  await pair.source.sql("INSERT INTO ident (v) VALUES ('a'), ('b')", [], db);
  await pair.source.sql("SELECT nextval('standalone'), nextval('standalone')", [], db);
  await pair.source.sql('INSERT INTO scratch SELECT generate_series(1, 500)', [], db);
  cfgPath = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 5s\n');
  await startAndWait(loadConfig(cfgPath, pair.env()), db, pair.target);
});
after(async () => {
  await pair?.stop();
});

async function seqState(c: EmbeddedCluster): Promise<string[]> {
  const out: string[] = [];
  for (const s of SEQS) {
    const [r] = await c.sql<{ last_value: string; is_called: boolean }>(`SELECT last_value::text, is_called FROM ${s}`, [], db);
    out.push(`${s}=${r!.last_value}/${r!.is_called}`);
  }
  return out;
}

function appClient(c: EmbeddedCluster): pg.Client {
  const client = new pg.Client({ host: c.host, port: c.port, user: 'app', password: APP_PASSWORD, database: db, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  return client;
}

/** Writers straight to the source as role "app", recording every acknowledged id, until cut off. */
function startWriters(n: number): { acked: Set<string>; cutOff: () => number; done: Promise<void> } {
  const acked = new Set<string>();
  let errors = 0;
  const one = async (i: number): Promise<void> => {
    const c = appClient(pair.source);
    try {
      await c.connect();
      for (let k = 0; k < 100_000; k++) {
        const r = await c.query<{ id: string }>('INSERT INTO ledger (client, delta) VALUES ($1, $2) RETURNING id::text', [i, k]);
        acked.add(r.rows[0]!.id);
      }
    } catch {
      errors++;
    } finally {
      await c.end().catch(() => undefined);
    }
  };
  const done = Promise.all(Array.from({ length: n }, (_, i) => one(i))).then(() => undefined);
  return { acked, cutOff: () => errors, done };
}

test(`revoke switchover ${FROM}->${TO}: clients cut off, every acknowledged write on the target, nothing committed on the source after the fence`, async () => {
  const writers = startWriters(4);
  await waitFor(async () => writers.acked.size > 300, { timeoutMs: 30_000, what: 'writers to start' });
  const r = await runCli(['-c', cfgPath, '--json', '--yes', 'switchover', db], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  await writers.done;
  assert.equal(writers.cutOff(), 4, 'every writer was cut off');
  const doc = JSON.parse(r.stdout) as { outcome: string; pauseMs: number; copied: { table: string; rows: number }[] };
  assert.equal(doc.outcome, 'done');
  assert.deepEqual(doc.copied, [{ table: 'public.scratch', rows: 500 }]);

  const onTarget = new Set((await pair.target.sql<{ id: string }>('SELECT id::text FROM ledger', [], db)).map((x) => x.id));
  for (const id of writers.acked) assert.ok(onTarget.has(id), `acknowledged ledger id ${id} missing on the target`);
  const onSource = (await pair.source.sql<{ id: string }>('SELECT id::text FROM ledger', [], db)).map((x) => x.id);
  for (const id of onSource) assert.ok(onTarget.has(id), `ledger id ${id} committed on the source after the fence`);
  assert.equal((await pair.target.sql<{ n: number }>('SELECT count(*)::int AS n FROM scratch', [], db))[0]!.n, 500);

  // Sequences of every kind, with their exact state (never_called stays never-called).
  assert.deepEqual(await seqState(pair.target), await seqState(pair.source));
  assert.ok((await seqState(pair.target)).includes('never_called=42/false'));
  assert.equal((await pair.target.sql<{ v: string }>("SELECT nextval('never_called')::text AS v", [], db))[0]!.v, '42');
  assert.equal((await pair.target.sql<{ v: string }>("SELECT nextval('standalone')::text AS v", [], db))[0]!.v, '110');
  await pair.target.sql("SELECT setval('never_called', 42, false)", [], db);
  await pair.target.sql("SELECT setval('standalone', 105, true)", [], db);

  // The app role can work on the target and is fenced off the source.
  const t = appClient(pair.target);
  await t.connect();
  await t.end();
  const s = appClient(pair.source);
  await assert.rejects(s.connect(), /permission denied|not permitted|CONNECT/i);

  // status: the forward subscription is gone on purpose; no "run pgshift start", the fence is the expected one.
  const st = await runCli(['-c', cfgPath, '--json', 'status', db], { env: pair.env() });
  assert.equal(st.code, 0, st.stdout + st.stderr);
  const sd = (JSON.parse(st.stdout) as { databases: { phase: string; problems: unknown[]; fence?: { source: { phase: string; interrupted: boolean } | null } }[] }).databases[0]!;
  assert.equal(sd.phase, 'switched over');
  assert.deepEqual(sd.problems, []);
  assert.equal(sd.fence?.source?.phase, 'done');
  assert.equal(sd.fence?.source?.interrupted, false);
});

test('rollback after writes on the target: rows and sequences back on the source, no loop', async () => {
  const t = appClient(pair.target);
  await t.connect();
  for (let i = 0; i < 50; i++) await t.query('INSERT INTO ledger (client, delta) VALUES (99, $1)', [i]);
  await t.query("INSERT INTO owned (v) VALUES ('after')");
  await t.query("INSERT INTO ident (v) VALUES ('after')");
  await t.query("SELECT nextval('standalone')");
  await t.end();
  const r = await runCli(['-c', cfgPath, '--yes', '--json', 'rollback', db], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal(JSON.parse(r.stdout).outcome, 'done');

  const rows = async (c: EmbeddedCluster): Promise<string[]> => (await c.sql<{ r: string }>('SELECT id::text || \':\' || client || \':\' || delta AS r FROM ledger ORDER BY id', [], db)).map((x) => x.r);
  assert.deepEqual(await rows(pair.source), await rows(pair.target));
  assert.deepEqual(await seqState(pair.source), await seqState(pair.target));
  assert.equal((await pair.source.sql<{ n: number }>("SELECT count(*)::int AS n FROM owned WHERE v = 'after'", [], db))[0]!.n, 1);

  // Writes go to the source again (the app role may connect there). Reverse replication is gone;
  // forward replication runs again from the rollback's fence: the write reaches the target once.
  const s = appClient(pair.source);
  await s.connect();
  await s.query('INSERT INTO ledger (client, delta) VALUES (77, 1)');
  await s.end();
  const names = namesFor(db);
  assert.equal((await pair.source.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.reverseSubscription], db)).length, 0);
  assert.equal((await pair.target.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.reverseSlot])).length, 0);
  await waitFor(async () => (await pair.target.sql('SELECT 1 FROM ledger WHERE client = 77', [], db)).length > 0,
    { timeoutMs: 30_000, what: 'the source write to reach the target through forward replication' });
  assert.deepEqual(await rows(pair.target), await rows(pair.source), 'the target has exactly the source rows');
  assert.equal((await pair.source.sql('SELECT 1 FROM ledger WHERE client = 77', [], db)).length, 1, 'the write came back to the source');
});
