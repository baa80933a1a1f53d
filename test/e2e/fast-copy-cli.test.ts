// `pgshift start DB --copy fast` through the CLI: schema, snapshot copy and
// subscription in one command, then `wait`, and the data is identical.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, tableRows, waitFor } from '../helpers/harness.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(13, 17);
});
after(async () => {
  await pair?.stop();
});

test('start --copy fast --jobs 2, then wait: every row arrives, indexes and keys exist', async () => {
  const db = await pair.freshDatabase('fast cli');
  await pair.source.sql(`CREATE TABLE "Items" (id bigint PRIMARY KEY, body text, blob bytea);
    INSERT INTO "Items" SELECT g, 'row ' || g, convert_to(repeat(md5(g::text), 100), 'UTF8') FROM generate_series(1, 20000) g;
    CREATE INDEX items_body ON "Items" (body);`, [], db);
  const cfg = await pair.writeConfig([db]);
  const usage = await runCli(['-c', cfg, 'start', db, '--jobs', '2'], { env: pair.env() });
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /--jobs goes with --copy fast/);

  const r = await runCli(['-c', cfg, 'start', db, '--copy', 'fast', '--jobs', '2'], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr);
  await pair.source.sql(`INSERT INTO "Items" VALUES (20001, 'after the snapshot', NULL)`, [], db);
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '120s'], { env: pair.env() });
  assert.equal(w.code, 0, w.stderr);
  await waitFor(async () => (await pair.target.sql<{ n: string }>('SELECT count(*) AS n FROM "Items"', [], db))[0]!.n === '20001',
    { timeoutMs: 60_000, what: 'the row written after the snapshot' });
  assert.deepEqual(await tableRows(pair.target, db, 'public', 'Items'), await tableRows(pair.source, db, 'public', 'Items'));
  const idx = await pair.target.sql<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'Items' ORDER BY 1", [], db);
  assert.deepEqual(idx.map((i) => i.indexname), ['Items_pkey', 'items_body']);

  const again = await runCli(['-c', cfg, 'start', db, '--copy', 'fast'], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /already exists: the fast copy is done/);
  await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: pair.env() });
});
