// cleanup with the source stopped (14 -> 18): the target is left with nothing
// of pgshift's, the report names what is left on the source and the SQL to
// remove it; once the source is back, a second cleanup removes that too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { startAndWait } from '../helpers/switchover-fixture.js';
import { namesFor } from '../../src/replication/names.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const [[FROM, TO]] = versionPairs([[14, 18]]) as [[number, number]];
let pair: Pair;

before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

async function ours(c: EmbeddedCluster, db: string): Promise<string[]> {
  const r = await c.sql<{ o: string }>(
    `SELECT 'publication ' || pubname AS o FROM pg_publication WHERE pubname LIKE 'pgshift\\_%'
     UNION ALL SELECT 'subscription ' || subname FROM pg_subscription WHERE subname LIKE 'pgshift\\_%'
     UNION ALL SELECT 'slot ' || slot_name FROM pg_replication_slots WHERE slot_name LIKE 'pgshift\\_%' OR slot_name LIKE 'pg\\_%\\_sync\\_%'
     ORDER BY 1`, [], db);
  return r.map((x) => x.o);
}

test('cleanup with the source stopped cleans the target and says what is left on the source', async () => {
  const db = await pair.freshDatabase('clean');
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) await c.sql('CREATE TABLE t (id int PRIMARY KEY, v text)', [], db);
  await pair.source.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 1000) g", [], db);
  const cfgPath = await pair.writeConfig([db]);
  await startAndWait(loadConfig(cfgPath, pair.env()), db, pair.target);
  const names = namesFor(db);
  assert.ok((await ours(pair.target, db)).includes(`subscription ${names.subscription}`));

  await pair.source.stopServer('immediate');
  const r = await runCli(['-c', cfgPath, 'cleanup', db, '--yes'], { env: pair.env(), timeoutMs: 90_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(await ours(pair.target, db), [], 'nothing of pgshift is left on the target');
  assert.match(r.stderr, /left on the source/);
  assert.match(r.stderr, new RegExp(`publication ${names.publication}`));
  assert.match(r.stderr, new RegExp(`replication slot ${names.slot}`));
  assert.match(r.stderr, /pg_drop_replication_slot/);
  assert.match(r.stderr, /DROP PUBLICATION IF EXISTS/);
  assert.ok(!r.stderr.includes(pair.source.password));

  await pair.source.startServer();
  const again = await runCli(['-c', cfgPath, 'cleanup', db, '--yes'], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await ours(pair.source, db), []);
  assert.deepEqual(await ours(pair.target, db), []);

  const none = await runCli(['-c', cfgPath, 'cleanup', db, '--yes'], { env: pair.env() });
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, /nothing of pgshift's was left/);
});
