// NOT VALID CHECK constraints and the native initial copy, on real clusters
// (16 -> 17). Rows on the source may legally violate such a constraint (on a
// table, inherited by children, or on a domain); restored before the copy,
// it made the table sync fail forever. Now:
//   - check says so; schema leaves them out and records them; the copy
//     takes every row; switchover refuses while they are missing; wait adds
//     them, NOT VALID and with their comments, once every table is ready;
//   - wait killed between two of them loses none and adds none twice;
//   - a table sync error loop (here: a constraint of a schema the user
//     provisioned) gets advice about the initial copy, not about "the
//     target's row named above".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, startCli, waitFor, qi } from '../helpers/harness.js';
import type { CheckReport } from '../../src/steps/check.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(16, 17);
});
after(async () => {
  await pair?.stop();
});

// A violating row in each: the table's own constraint, the parent's (inherited by the child) and the domain's.
const SOURCE = `
  CREATE TABLE orders (id int PRIMARY KEY, qty int);
  INSERT INTO orders SELECT g, g FROM generate_series(1, 200) g;
  INSERT INTO orders VALUES (0, -3);
  ALTER TABLE orders ADD CONSTRAINT "qty positive" CHECK (qty > 0) NOT VALID;
  COMMENT ON CONSTRAINT "qty positive" ON orders IS 'old rows may be negative';
  CREATE TABLE events (id int PRIMARY KEY, day date);
  CREATE TABLE events_old (CHECK (day < '2020-01-01')) INHERITS (events);
  INSERT INTO events_old VALUES (1, '1999-12-31');
  ALTER TABLE events ADD CONSTRAINT recent CHECK (day >= '2000-01-01') NOT VALID;
  CREATE DOMAIN pct AS int;
  CREATE TABLE scores (id int PRIMARY KEY, p pct);
  INSERT INTO scores VALUES (1, 50), (2, 150);
  ALTER DOMAIN pct ADD CONSTRAINT pct_range CHECK (VALUE BETWEEN 0 AND 100) NOT VALID;
`;

const CONSTRAINTS_SQL = `
  SELECT CASE WHEN conrelid <> 0 THEN conrelid::regclass::text ELSE contypid::regtype::text END || '.' || conname || ' valid=' || convalidated
         || ' local=' || conislocal || coalesce(' comment=' || obj_description(oid, 'pg_constraint'), '') AS c
    FROM pg_constraint WHERE contype = 'c' AND NOT convalidated ORDER BY 1`;

async function notValid(c: typeof pair.source, db: string): Promise<string[]> {
  return (await c.sql<{ c: string }>(CONSTRAINTS_SQL, [], db)).map((r) => r.c);
}

async function record(db: string): Promise<number | null> {
  const [t] = await pair.target.sql<{ t: string | null }>("SELECT to_regclass('pgshift.deferred_constraints')::text AS t", [], db);
  if (!t!.t) return null;
  const [n] = await pair.target.sql<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.deferred_constraints', [], db);
  return n!.n;
}

async function allReady(db: string): Promise<void> {
  await waitFor(async () => {
    const [r] = await pair.target.sql<{ waiting: number; total: number }>(
      "SELECT count(*) FILTER (WHERE srsubstate <> 'r')::int AS waiting, count(*)::int AS total FROM pg_subscription_rel", [], db);
    return r!.waiting === 0 && r!.total > 0;
  }, { timeoutMs: 120_000, what: 'every table ready' });
}

test('the native copy takes rows that violate NOT VALID CHECK constraints; wait adds them afterwards; switchover waits for that', async () => {
  const db = await pair.freshDatabase('notvalid');
  await pair.source.sql(SOURCE, [], db);
  const config = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n');
  const wanted = await notValid(pair.source, db);
  assert.equal(wanted.length, 4, wanted.join('\n'));

  const c = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  assert.equal(c.code, 0, c.stderr);
  const f = (JSON.parse(c.stdout) as CheckReport).findings.find((x) => x.id === 'not-valid-checks');
  assert.equal(f?.severity, 'warn');
  assert.deepEqual(f!.objects.sort(), ['public.events.recent', 'public.orders.qty positive', 'public.pct.pct_range (domain)']);

  const s = await runCli(['-c', config, '--json', 'schema', db], { env: pair.env() });
  assert.equal(s.code, 0, s.stderr);
  assert.equal(JSON.parse(s.stdout).deferredChecks.length, 3);
  assert.deepEqual(await notValid(pair.target, db), [], 'schema leaves them out');
  assert.equal(await record(db), 3);

  const st = await runCli(['-c', config, 'start', db], { env: pair.env() });
  assert.equal(st.code, 0, st.stderr);
  await allReady(db);
  const sw = await runCli(['-c', config, '--yes', 'switchover', db], { env: pair.env() });
  assert.equal(sw.code, 1, sw.stderr);
  assert.match(sw.stderr, /3 NOT VALID CHECK constraint\(s\) of the source are not on the target yet/);
  assert.match(sw.stderr, new RegExp(`hint: Run "pgshift wait ${db}"`));

  const w = await runCli(['-c', config, 'wait', db, '--timeout', '3m'], { env: pair.env() });
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, /added 3 NOT VALID CHECK constraint\(s\) on the target/);
  assert.deepEqual(await notValid(pair.target, db), wanted, 'the same constraints, NOT VALID, with their comments');
  assert.equal(await record(db), null, 'no record left');
  assert.deepEqual(await pair.target.sql("SELECT nspname FROM pg_namespace WHERE nspname = 'pgshift'", [], db), []);
  for (const t of ['orders', 'events', 'scores']) {
    const [a, b] = await Promise.all([pair.source, pair.target].map((x) => x.sql<{ r: string }>(`SELECT t::text AS r FROM ${qi(t)} t ORDER BY 1`, [], db)));
    assert.deepEqual(b, a, `every row of ${t} arrived, the violating ones too`);
  }
  // The constraints hold for new rows on both sides, and streaming goes on.
  await pair.source.sql('INSERT INTO orders VALUES (1000, 7)', [], db);
  await waitFor(async () => (await pair.target.sql('SELECT 1 FROM orders WHERE id = 1000', [], db)).length === 1, { timeoutMs: 60_000, what: 'a new row on the target' });
  await assert.rejects(pair.target.sql('INSERT INTO orders VALUES (1001, -1)', [], db), /qty positive/);

  const cl = await runCli(['-c', config, '--yes', 'cleanup', db], { env: pair.env() });
  assert.equal(cl.code, 0, cl.stderr);
});

test('wait killed between two deferred constraints loses none and adds none twice', async () => {
  const db = await pair.freshDatabase('notvalid_kill');
  await pair.source.sql(SOURCE, [], db);
  const config = await pair.writeConfig([db]);
  for (const step of ['schema', 'start']) {
    const r = await runCli(['-c', config, step, db], { env: pair.env() });
    assert.equal(r.code, 0, r.stderr);
  }
  const killed = await startCli(['-c', config, 'wait', db, '--timeout', '3m'], { env: { ...pair.env(), PGSHIFT_FAULT: 'after:deferred-check' } }).done;
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  assert.equal(await record(db), 2, 'the first one added and struck from the record, two to go');
  assert.equal((await notValid(pair.target, db)).length, 2, 'the table constraint and its child\'s inherited copy');

  const again = await runCli(['-c', config, 'wait', db, '--timeout', '3m'], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await notValid(pair.target, db), await notValid(pair.source, db));
  assert.equal(await record(db), null);
  const cl = await runCli(['-c', config, '--yes', 'cleanup', db], { env: pair.env() });
  assert.equal(cl.code, 0, cl.stderr);
});

test('a table sync error loop gets advice about the initial copy, not about a row named above', async () => {
  const db = await pair.freshDatabase('notvalid_existing');
  await pair.source.sql(SOURCE, [], db);
  const config = await pair.writeConfig([db]);
  const s = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(s.code, 0, s.stderr);
  // As a schema the user provisioned would have it: the constraint before the copy.
  await pair.target.sql('ALTER TABLE orders ADD CONSTRAINT "qty positive" CHECK (qty > 0) NOT VALID', [], db);
  const st = await runCli(['-c', config, 'start', db], { env: pair.env() });
  assert.equal(st.code, 0, st.stderr);

  const w = await runCli(['-c', config, '--json', 'wait', db, '--timeout', '3m'], { env: pair.env(), timeoutMs: 240_000 });
  assert.equal(w.code, 1, w.stderr);
  const e = JSON.parse(w.stdout) as { code: string; message: string; hint: string };
  assert.equal(e.code, 'sync_error_loop', w.stdout);
  assert.match(e.message, /the initial copy of a table of ".*" keeps failing on the target/);
  assert.match(e.hint, /NOT VALID CHECK constraint/);
  assert.doesNotMatch(e.hint, /row named above/);
  const [sub] = await pair.target.sql<{ on: boolean }>('SELECT subenabled AS on FROM pg_subscription', [], db);
  assert.equal(sub!.on, false, 'wait stopped the failing copy');
  const cl = await runCli(['-c', config, '--yes', 'cleanup', db], { env: pair.env() });
  assert.equal(cl.code, 0, cl.stderr);
});
