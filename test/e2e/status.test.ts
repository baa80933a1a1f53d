// status and wait on 14 -> 16: what they report before start, during the
// copy and when streaming (the documented --json shape), NDJSON --watch, and
// how wait gives up, with the reason, instead of waiting forever: on a
// timeout, on a subscription an apply error disabled, and on an error loop.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, waitFor } from '../helpers/harness.js';
import { createFixtureSchema, fillFixture } from '../helpers/fixture-schema.js';
import { assertStatusShape, problemLines, problemOf } from '../helpers/replication-scenario.js';
import { loadConfig } from '../../src/config/config.js';
import { getStatus } from '../../src/status/probe.js';
import { namesFor } from '../../src/replication/names.js';
import { type DatabaseStatus } from '../../src/status/model.js';

let pair: Pair;
before(async () => {
  // Apply workers retry quickly, so an error loop shows within seconds.
  pair = await Pair.start(14, 16, { settings: { wal_retrieve_retry_interval: '300ms' } });
});
after(async () => {
  await pair?.stop();
});

async function preparedDatabase(prefix: string, bulkRows = 0): Promise<{ db: string; cfg: string }> {
  const db = await pair.freshDatabase(prefix, { onTarget: true });
  for (const c of [pair.source, pair.target]) {
    await createFixtureSchema(c, db);
    await c.sql('CREATE TABLE app.bulk (id bigint PRIMARY KEY, payload text NOT NULL)', [], db);
  }
  await fillFixture(pair.source, db, 300);
  if (bulkRows) await pair.source.sql('INSERT INTO app.bulk SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, $1::int) g', [bulkRows], db);
  return { db, cfg: await pair.writeConfig([db]) };
}

test('status before start: exit 1, "not started", the documented shape', async () => {
  const { db, cfg } = await preparedDatabase('st_before');
  const r = await runCli(['-c', cfg, '--json', 'status', db], { env: pair.env() });
  assert.equal(r.code, 1, r.stderr);
  const s = (JSON.parse(r.stdout) as { databases: DatabaseStatus[] }).databases[0]!;
  assertStatusShape(s as unknown as Record<string, unknown>);
  assert.equal(s.phase, 'not started');
  assert.equal(s.subscription.exists, false);
  assert.equal(s.slot.exists, false);
  assert.equal(s.lagBytes, null);
  assert.deepEqual(s.problems.map((p) => p.code), ['publication_missing', 'subscription_missing'], problemLines(s.problems));
  assert.equal(problemOf(s.problems, 'publication_missing')!.fix, `run "pgshift start ${db}"`);
  const human = await runCli(['-c', cfg, 'status', db], { env: pair.env() });
  assert.equal(human.code, 1);
  assert.match(human.stderr, /not started/);
  // Each problem in words, then what to do on the line under it.
  assert.ok(human.stderr.includes(`warn publication ${namesFor(db).publication} does not exist on the source\n       fix: run "pgshift start ${db}"\n`), human.stderr);
});

test('status during the copy shows progress; wait times out with the reason; then ready and streaming', async () => {
  const { db, cfg } = await preparedDatabase('st_copy', 300_000);
  // Hold the initial copy of app.bulk part-way, so the test sees it copying
  // however fast this machine is: an ALWAYS trigger on the target (it fires in
  // the table-sync worker) waits on an advisory lock the test holds, from row
  // 1000 on, until the test has seen the copy in progress.
  await pair.target.sql(`CREATE FUNCTION app.copy_brake() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id > 1000 THEN PERFORM pg_advisory_lock_shared(4242); PERFORM pg_advisory_unlock_shared(4242); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER copy_brake BEFORE INSERT ON app.bulk FOR EACH ROW EXECUTE FUNCTION app.copy_brake();
    ALTER TABLE app.bulk ENABLE ALWAYS TRIGGER copy_brake;`, [], db);
  const brake = await pair.target.client(db);
  await brake.query('SELECT pg_advisory_lock(4242)');
  const env = pair.env();
  const start = await runCli(['-c', cfg, 'start', db], { env });
  assert.equal(start.code, 0, start.stderr);

  const short = await runCli(['-c', cfg, 'wait', db, '--timeout', '1s', '--interval', '200ms'], { env });
  assert.equal(short.code, 1, short.stderr);
  assert.match(short.stderr, /did not catch up within 1\.00s: \d+\/\d+ tables ready/);

  const config = loadConfig(cfg, env);
  const copying = await waitFor(async () => {
    const s = await getStatus(config, db);
    const t = s.tables.find((x) => x.name === 'bulk');
    return t && t.copy && t.copy.rows > 0 ? s : undefined;
  }, { timeoutMs: 60_000, intervalMs: 100, what: 'app.bulk to be copying' });
  assert.equal(copying.phase, 'copying');
  assert.equal(copying.tables.find((x) => x.name === 'bulk')!.state, 'copying');
  assert.ok(copying.tablesReady < copying.tablesTotal);
  await brake.end();

  const w = await runCli(['-c', cfg, '--json', 'wait', db, '--timeout', '120s', '--interval', '300ms', '--max-lag', '64kB'], { env, timeoutMs: 150_000 });
  assert.equal(w.code, 0, w.stderr);
  const done = JSON.parse(w.stdout) as { ok: boolean; status: DatabaseStatus };
  assert.ok(done.ok);
  assert.ok(done.status.lagBytes !== null && done.status.lagBytes <= 64 * 1024);
  assert.ok(done.status.tables.every((t) => t.state === 'ready'));
  // Progress reached stderr as NDJSON events.
  assert.match(w.stderr, /"event":"progress".*tables ready/);

  const watch = await runCli(['-c', cfg, '--json', 'status', '--watch', '--interval', '200ms', '--count', '2'], { env });
  assert.equal(watch.code, 0, watch.stderr + watch.stdout);
  const docs = watch.stdout.trim().split('\n').map((l) => JSON.parse(l) as { databases: DatabaseStatus[] });
  assert.equal(docs.length, 2);
  for (const d of docs) {
    assertStatusShape(d.databases[0] as unknown as Record<string, unknown>);
    assert.equal(d.databases[0]!.phase, 'streaming');
    assert.equal(d.databases[0]!.slot.walStatus, 'reserved');
  }
});

test('an apply error that repeats: status says so, wait disables the subscription and exits 1; fixed and enabled, it catches up', async () => {
  const { db, cfg } = await preparedDatabase('st_error');
  const env = pair.env();
  assert.equal((await runCli(['-c', cfg, 'start', db], { env })).code, 0);
  assert.equal((await runCli(['-c', cfg, 'wait', db, '--timeout', '120s'], { env, timeoutMs: 150_000 })).code, 0);

  // A row on the target that the source's next insert collides with.
  await pair.target.sql("INSERT INTO app.bulk VALUES (42, 'target only')", [], db);
  await pair.source.sql("INSERT INTO app.bulk VALUES (42, 'from source')", [], db);
  const sub = namesFor(db).subscription;

  // The worker retries (no disable_on_error: a network blip must not stop replication); wait sees the loop and stops it.
  const loop = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m', '--interval', '300ms'], { env, timeoutMs: 90_000 });
  assert.equal(loop.code, 1, loop.stderr);
  assert.match(loop.stderr, /error count rose from \d+ to \d+/);
  assert.match(loop.stderr, /pgshift disabled subscription/);
  const r = await pair.target.sql<{ subenabled: boolean }>('SELECT subenabled FROM pg_subscription WHERE subname = $1', [sub]);
  assert.equal(r[0]?.subenabled, false);

  const st = await runCli(['-c', cfg, '--json', 'status', db], { env });
  assert.equal(st.code, 1);
  const s = (JSON.parse(st.stdout) as { databases: DatabaseStatus[] }).databases[0]!;
  assert.equal(s.phase, 'stopped');
  assert.equal(s.subscription.enabled, false);
  assert.ok(s.errors.apply !== null && s.errors.apply >= 1);
  const disabled = problemOf(s.problems, 'subscription_disabled');
  assert.ok(disabled, problemLines(s.problems));
  assert.match(disabled.message, /^subscription .* is disabled/);
  assert.match(disabled.fix ?? '', /ALTER SUBSCRIPTION .* ENABLE/);
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '10m'], { env, timeoutMs: 60_000 });
  assert.equal(w.code, 1);
  assert.match(w.stderr, /subscription .* is disabled/);
  assert.match(w.stderr, /ALTER SUBSCRIPTION .* ENABLE/);

  // Fixing the conflict and enabling the subscription lets it catch up.
  await pair.target.sql('DELETE FROM app.bulk WHERE id = 42', [], db);
  await pair.target.sql(`ALTER SUBSCRIPTION ${sub} ENABLE`, [], db);
  const healed = await runCli(['-c', cfg, 'wait', db, '--timeout', '120s'], { env, timeoutMs: 150_000 });
  assert.equal(healed.code, 0, healed.stderr);
  const rows = await pair.target.sql<{ payload: string }>('SELECT payload FROM app.bulk WHERE id = 42', [], db);
  assert.deepEqual(rows.map((r) => r.payload), ['from source']);
});
