// DDL on the source while replicating (15 -> 17): DDL is not replicated, so
// status must show the drift BEFORE it breaks anything (the `drift` field
// and problems that say what to run), and switchover must refuse while it
// lasts. (a) a column added to a replicated table: reported before any row
// that carries it is written; the remedy (the same column on the target)
// lets every later row arrive. (b) a table created on the source: reported
// as not replicated; the remedy (the table on the target, `pgshift start`
// again) copies it and streams it. Both end with identical rows on both sides.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, tableRows } from '../helpers/harness.js';
import { assertSourceUnfenced, converged, refusedSwitchover } from './faults-helpers.js';
import { cliStatus, cliWait, startStreaming } from '../helpers/fault-scenario.js';
import { problemLines, problemOf } from '../helpers/replication-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(15, 17);
});
after(async () => {
  await pair?.stop();
});

const HOSTILE = 'Drift "x"; tbl';

async function replicating(prefix: string): Promise<{ db: string; cfg: string }> {
  const db = await pair.freshDatabase(prefix, { onTarget: true });
  for (const c of [pair.source, pair.target]) {
    await c.sql('CREATE SCHEMA app', [], db);
    await c.sql('CREATE TABLE app.items (id bigint PRIMARY KEY, v text NOT NULL)', [], db);
    await c.sql(`CREATE TABLE app."${HOSTILE.replace(/"/g, '""')}" (id int PRIMARY KEY)`, [], db);
  }
  await pair.source.sql("INSERT INTO app.items SELECT g, 'row ' || g FROM generate_series(1, 200) g", [], db);
  const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n');
  await startStreaming({ cfg, db }, pair.env());
  return { db, cfg };
}

test('a column added on the source: drift reported before it breaks, switchover refused; added on the target, rows converge', async () => {
  const { db, cfg } = await replicating('ddl_col');
  await pair.source.sql('ALTER TABLE app.items ADD COLUMN note varchar(40)', [], db);

  const { code: stCode, status: s } = await cliStatus({ cfg, db }, pair.env());
  assert.equal(stCode, 1);
  assert.deepEqual(s.drift!.newTables, []);
  assert.equal(s.drift!.columnMismatches.length, 1, JSON.stringify(s.drift));
  assert.deepEqual(
    (({ table, column, sourceType, targetType }) => ({ table, column, sourceType, targetType }))(s.drift!.columnMismatches[0]!),
    { table: 'app.items', column: 'note', sourceType: 'character varying(40)', targetType: null });
  assert.equal(problemOf(s.problems, 'drift_column_missing')?.fix, 'add the column on the target now: ALTER TABLE "app"."items" ADD COLUMN "note" character varying(40);', problemLines(s.problems));
  // Nothing broke yet: the subscription still runs.
  assert.equal(s.subscription.enabled, true);
  assert.equal(s.errors.apply, 0);

  await refusedSwitchover(pair, cfg, db, /schema drift.*app\.items\.note/s);
  await assertSourceUnfenced(pair, db, "INSERT INTO app.items (id, v) VALUES (1001, 'after the refused switchover')");

  // The remedy the problem names, then rows that carry the new column.
  await pair.target.sql('ALTER TABLE app.items ADD COLUMN note varchar(40)', [], db);
  await pair.source.sql("INSERT INTO app.items SELECT g, 'new ' || g, 'note ' || g FROM generate_series(2001, 2100) g", [], db);
  await pair.source.sql("UPDATE app.items SET note = 'updated' WHERE id <= 10", [], db);
  await cliWait({ cfg, db }, pair.env());
  await converged(pair, db, 'app', 'items');
  const after = await cliStatus({ cfg, db }, pair.env());
  assert.equal(after.code, 0, problemLines(after.status.problems));
  assert.deepEqual(after.status.drift, { newTables: [], columnMismatches: [] });
});

test('a table created on the source: reported as not replicated, switchover refused; created on the target and started again, it converges', async () => {
  const { db, cfg } = await replicating('ddl_tbl');
  const env = pair.env();
  const table = `new ${HOSTILE}`;
  const qtable = `app."${table.replace(/"/g, '""')}"`;
  await pair.source.sql(`CREATE TABLE ${qtable} (id int PRIMARY KEY, payload jsonb)`, [], db);
  await pair.source.sql(`INSERT INTO ${qtable} SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 300) g`, [], db);

  const { code: stCode, status: s } = await cliStatus({ cfg, db }, pair.env());
  assert.equal(stCode, 1);
  assert.deepEqual(s.drift!.newTables, [{ schema: 'app', name: table, published: false, onTarget: false }]);
  assert.deepEqual(s.drift!.columnMismatches, []);
  const missing = problemOf(s.problems, 'drift_table_missing');
  assert.ok(missing?.message.includes(`not on the target and not replicated: app.${table}`), problemLines(s.problems));
  assert.ok(missing?.fix?.includes(`pgshift start ${db}`), problemLines(s.problems));

  await refusedSwitchover(pair, cfg, db, /schema drift.*not replicated/s);
  await assertSourceUnfenced(pair, db, `INSERT INTO ${qtable} VALUES (-1, '{"after": "refused switchover"}')`);

  // On the target, but not yet published: still drift, with the other next step.
  await pair.target.sql(`CREATE TABLE ${qtable} (id int PRIMARY KEY, payload jsonb)`, [], db);
  const mid = await cliStatus({ cfg, db }, pair.env());
  assert.deepEqual(mid.status.drift!.newTables, [{ schema: 'app', name: table, published: false, onTarget: true }]);
  const unpublished = problemOf(mid.status.problems, 'drift_table_unpublished');
  assert.match(unpublished?.message ?? '', /not in the publication/, problemLines(mid.status.problems));
  assert.equal(unpublished?.fix, `run "pgshift start ${db}" again to publish and copy it`);

  const start = await runCli(['-c', cfg, 'start', db], { env });
  assert.equal(start.code, 0, start.stderr);
  await pair.source.sql(`INSERT INTO ${qtable} SELECT g, '{"late": true}' FROM generate_series(1001, 1050) g`, [], db);
  await cliWait({ cfg, db }, pair.env());
  assert.deepEqual(await tableRows(pair.target, db, 'app', table), await tableRows(pair.source, db, 'app', table));
  await converged(pair, db, 'app', 'items');
  const after = await cliStatus({ cfg, db }, pair.env());
  assert.equal(after.code, 0, problemLines(after.status.problems));
  assert.deepEqual(after.status.drift, { newTables: [], columnMismatches: [] });
});
