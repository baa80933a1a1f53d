// The fast-copy end-to-end scenarios, shared by the version-pair files:
// the fixture schema (TOASTed bytea/jsonb, a partitioned table, generated
// columns, enums, FKs, triggers, hostile names) copied by startFastCopy
// while writes run on the source the whole time, then compared row by row
// after catch-up; and a fast copy SIGKILLed mid-copy, then re-run.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/config.js';
import type { PgshiftEvent } from '../../src/events.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { startFastCopy, type FastCopyReport } from '../../src/steps/fast-copy.js';
import { namesFor } from '../../src/replication/names.js';
import { createFixtureSchema, fillFixture, FIXTURE_SCHEMAS } from '../helpers/fixture-schema.js';
import { waitFor, type Pair } from '../helpers/harness.js';
import { assertSameRows, objectCounts, startLoad, waitForCatchUp } from '../helpers/replication-scenario.js';

const CHILD = fileURLToPath(new URL('./fast-copy-child.js', import.meta.url));
const SCHEMAS = [FIXTURE_SCHEMAS.app, FIXTURE_SCHEMAS.hostile];

/** Indexes, constraints (with validity) and triggers of the fixture schemas, as comparable text. */
async function postDataShape(c: EmbeddedCluster, db: string): Promise<string[]> {
  const rows = await c.sql<{ x: string }>(`
    SELECT 'index ' || n.nspname || '.' || i.relname || ' ' || regexp_replace(pg_get_indexdef(i.oid), ' ON (ONLY )?', ' ON ') AS x
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
     WHERE n.nspname = ANY($1) AND x.indisvalid
    UNION ALL
    SELECT 'constraint ' || n.nspname || '.' || t.relname || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid) || ' valid=' || c.convalidated
      FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = ANY($1)
    UNION ALL
    SELECT 'trigger ' || n.nspname || '.' || t.relname || '.' || g.tgname
      FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = ANY($1) AND NOT g.tgisinternal
     ORDER BY 1`, [SCHEMAS], db);
  return rows.map((r) => r.x);
}

function configFor(path: string, pair: Pair): ReturnType<typeof loadConfig> {
  return loadConfig(path, { ...process.env, ...pair.env() });
}

async function assertStreamingAndIdentical(pair: Pair, db: string): Promise<void> {
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  assert.deepEqual(await postDataShape(pair.target, db), await postDataShape(pair.source, db), 'indexes, constraints or triggers differ');
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });
}

/**
 * The fixture copied by startFastCopy under continuous writes; every table
 * split into ranges (64 kB threshold), then identical after catch-up.
 */
export async function fastCopyUnderLoad(pair: Pair, prefix: string): Promise<void> {
  const db = await pair.freshDatabase(prefix);
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 3000);
  const config = configFor(await pair.writeConfig([db]), pair);
  const events: PgshiftEvent[] = [];
  const load = await startLoad(pair.source, db);
  let report: FastCopyReport;
  let committed: number;
  try {
    report = await startFastCopy(config, db, { jobs: 3, splitBytes: 64 * 1024, emit: (e) => events.push(e) });
    // Writes after the subscription exists go through streaming, not the copy.
    const before = await writesSoFar(pair.source, db);
    await waitFor(async () => (await writesSoFar(pair.source, db)) > before + 20, { timeoutMs: 30_000, what: 'more writes after the copy' });
  } finally {
    committed = await load.stop();
  }
  assert.ok(committed > 20, `only ${committed} write transactions ran`);
  assert.equal(report.alreadyDone, false);
  assert.equal(report.schema.preData, 'applied');
  const split = report.tables.filter((t) => t.ranges > 1);
  assert.ok(split.length > 0, `no table was split: ${JSON.stringify(report.tables)}`);
  assert.ok(report.tables.some((t) => t.table === 'app.events_2024'), 'partitions are copied leaf by leaf');
  assert.ok(report.tables.some((t) => t.format === 'binary') && report.tables.some((t) => t.format === 'text'), `expected both binary and text tables: ${JSON.stringify(report.tables)}`);
  assert.ok(report.schema.postData && report.schema.postData.indexes > 0 && report.schema.postData.foreignKeys > 0);
  assert.ok(report.subscription.options.includes('copy_data = false') && report.subscription.options.includes('create_slot = false'));
  assert.ok(events.some((e) => e.type === 'progress' && e.task === 'copy-total'), 'no overall progress event');
  await assertStreamingAndIdentical(pair, db);

  // A second run sees the subscription and does nothing.
  const again = await startFastCopy(config, db, { jobs: 2 });
  assert.equal(again.alreadyDone, true);
}

async function writesSoFar(c: EmbeddedCluster, db: string): Promise<number> {
  const r = await c.sql<{ n: string }>('SELECT xact_commit::int8 AS n FROM pg_stat_database WHERE datname = $1', [db]);
  return Number(r[0]!.n);
}

/**
 * A fast copy SIGKILLed mid-copy leaves its slot and half-filled tables; the
 * re-run says so, drops the slot, empties only the published tables and
 * copies again, leaving an unrelated target table alone.
 */
export async function fastCopyKilledAndRerun(pair: Pair, prefix: string): Promise<void> {
  const db = await pair.freshDatabase(prefix);
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 3000);
  // Enough rows that the copy is still running when the kill lands.
  await pair.source.sql(`INSERT INTO app.no_pk_dups (a, b, c) SELECT g % 1000, repeat('x', 200), g FROM generate_series(1, 400000) g`, [], db);
  const cfgPath = await pair.writeConfig([db]);
  const names = namesFor(db);

  const child = spawn(process.execPath, [CHILD, cfgPath, db, '1', String(256 * 1024)], {
    env: { ...process.env, ...pair.env() }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // The first finished range: the copy is under way, the subscription not made.
      if (out.split('\n').some((l) => l.includes('"task":"copy"') && l.includes('"total"'))) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then(() => reject(new Error(`child ended before it was killed\n${out}\n${err}`)));
  });
  await exited;
  assert.ok(!out.includes('"finished"'), 'the copy finished before the kill');
  const subs = await pair.target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription]);
  assert.equal(subs.length, 0, 'a subscription exists after the kill');
  await waitFor(async () => (await pair.source.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).length === 1,
    { timeoutMs: 5_000, what: 'the killed run\'s slot' });
  await pair.target.sql('CREATE TABLE public.untouched (x int); INSERT INTO public.untouched VALUES (42)', [], db);

  const config = configFor(cfgPath, pair);
  const events: PgshiftEvent[] = [];
  const load = await startLoad(pair.source, db);
  let report: FastCopyReport;
  try {
    report = await startFastCopy(config, db, { jobs: 2, splitBytes: 256 * 1024, emit: (e) => events.push(e) });
  } finally {
    await load.stop();
  }
  assert.equal(report.restarted, true);
  assert.equal(report.schema.preData, 'present');
  assert.ok(events.some((e) => e.type === 'warn' && e.code === 'fast_copy_restarted' && /snapshot is gone/.test(e.message)), 'the re-run did not say why it restarts');
  await assertStreamingAndIdentical(pair, db);
  const kept = await pair.target.sql<{ x: number }>('SELECT x FROM public.untouched', [], db);
  assert.deepEqual(kept.map((r) => r.x), [42], 'an unrelated target table was touched');
}
