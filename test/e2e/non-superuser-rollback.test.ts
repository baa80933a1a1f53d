// Switchover WITH reverse replication and a rollback, as non-superusers
// (16 -> 17, through the CLI). A source of 16+ lets a non-superuser create
// the reverse subscription (pg_create_subscription); 14 and 15 sources cannot
// (non-superuser.test.ts shows that refusal). The target schema is provisioned
// by the target admin and checked with "schema --existing", as a provider's
// admin would do it. Source role "migrator" and target
// role "tadmin" hold what an RDS-like admin role has, minus superuser (see
// docs/privileges.md). Under a write load as the application role: every
// acknowledged write reaches the target at the switchover, writes made on the
// target come back to the source at the rollback, the application may
// connect to whichever side has the writes, no password is printed, and
// cleanup leaves no pgshift object on either side.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Pair, waitFor, tableRows } from '../helpers/harness.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteIdent, quoteLiteral } from '../../src/pg/quote.js';
import { writeConfigFor } from '../helpers/cluster-state.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { APP_PW, MIGRATOR_PW, TADMIN_PW, createRole, pgshiftObjects, RecordedCli, startWriters } from './non-superuser-fixture.js';

const FROM = 16;
const TO = 17;
let pair: Pair;
const recorded = new RecordedCli();
const cli = recorded.run.bind(recorded);

const APP_SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL);
  CREATE TABLE ledger (id bigserial PRIMARY KEY, client int NOT NULL, k int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
  GRANT ALL ON ALL TABLES IN SCHEMA public TO app;
  GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app;`;

/** What each side's migration role holds: an RDS-like admin, minus superuser. Both sides are fenced once. */
const FENCE_GRANTS = 'GRANT pg_create_subscription, pg_signal_backend, pg_read_all_stats TO %; GRANT CREATE ON DATABASE postgres TO %';

before(async () => {
  pair = await Pair.start(FROM, TO);
  await createRole(pair.source, 'migrator', MIGRATOR_PW, 'LOGIN REPLICATION CREATEROLE');
  await createRole(pair.source, 'app', APP_PW, 'LOGIN');
  await pair.source.sql(FENCE_GRANTS.replace(/%/g, 'migrator'));
  await createRole(pair.target, 'tadmin', TADMIN_PW, 'LOGIN CREATEDB CREATEROLE REPLICATION');
  await pair.target.sql(FENCE_GRANTS.replace(/%/g, 'tadmin'));
});
after(async () => {
  await pair?.stop();
});

async function appClient(c: EmbeddedCluster, db: string): Promise<pg.Client> {
  const client = new pg.Client({ host: c.host, port: c.port, user: 'app', password: APP_PW, database: db, connectionTimeoutMillis: 3000 });
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

test(`non-superusers ${FROM}->${TO}: switchover with reverse replication, then rollback, under load`, async () => {
  const db = await pair.freshDatabase('nonsuper_rb');
  await pair.source.sql(`ALTER DATABASE ${quoteIdent(db)} OWNER TO migrator`);
  await pair.source.sql(`SET ROLE migrator; ${APP_SCHEMA} INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;`, [], db);
  const s = pair.source;
  const cfg = await writeConfigFor(pair.dir, `nonsuper-rb-${db}.yml`,
    { cluster: s, conn: `postgresql://migrator@${s.host}:${s.port}/postgres` },
    { cluster: pair.target, conn: formatConninfo(pair.target.params('postgres', 'tadmin')) }, [db],
    'switchover:\n  pause: revoke\n  max_pause: 10s\n');

  // check passes; the dump tools it names are CI's 18 (a 16 source needs 16 or newer, there is no 17).
  const check = await cli('check', ['-c', cfg, 'check', db]);
  assert.match(check.stderr, /ok +both +pg_dump 18\.\d+ copies the schema/);
  // The grants above are all a switchover with reverse replication and a rollback need, and check says so.
  assert.match(check.stderr, /the roles have what a switchover \(pause method revoke\) needs/);
  assert.match(check.stderr, /the roles have what a rollback \(pause method revoke\) needs/);
  await cli('roles', ['-c', cfg, '--yes', 'roles', '--managed']);
  await pair.target.sql(`ALTER ROLE app PASSWORD ${quoteLiteral(APP_PW)}`);
  // The target admin provisions the database and schema, as the owner pgshift roles copied.
  const t = await pair.target.client('postgres', 'tadmin', TADMIN_PW);
  try {
    await t.query(`CREATE DATABASE ${quoteIdent(db)} OWNER migrator`);
  } finally {
    await t.end();
  }
  const td = await pair.target.client(db, 'tadmin', TADMIN_PW);
  try {
    await td.query(`SET ROLE migrator; ${APP_SCHEMA}`);
  } finally {
    await td.end();
  }
  await cli('schema --existing', ['-c', cfg, '--yes', 'schema', db, '--existing']);

  const writers = startWriters(pair.source, db, 3);
  try {
    await waitFor(async () => writers.acked.size > 50, { timeoutMs: 30_000, what: 'writers to start' });
    await cli('start', ['-c', cfg, '--yes', 'start', db]);
    await cli('wait', ['-c', cfg, 'wait', db, '--timeout', '90s']);
    await cli('verify', ['-c', cfg, 'verify', db, '--mode', 'full']);
    const sw = await cli('switchover', ['-c', cfg, '--yes', '--json', 'switchover', db]);
    const doc = JSON.parse(sw.stdout) as { outcome: string; reverse: boolean };
    assert.equal(doc.outcome, 'done');
    assert.equal(doc.reverse, true);
  } finally {
    writers.stop();
  }
  assert.ok((await writers.done) >= 1, 'the fence cut the writers off');
  const onTarget = new Set((await pair.target.sql<{ id: string }>('SELECT id::text FROM ledger', [], db)).map((x) => x.id));
  for (const id of writers.acked) assert.ok(onTarget.has(id), `acknowledged ledger id ${id} missing on the target`);

  const st = await cli('status', ['-c', cfg, '--json', 'status', db]);
  const sd = (JSON.parse(st.stdout) as { databases: { phase: string; problems: unknown[] }[] }).databases[0]!;
  assert.equal(sd.phase, 'switched over');
  assert.deepEqual(sd.problems, []);

  // Writes on the target, carried back to the source by the reverse subscription (owned by migrator).
  const onT = await appClient(pair.target, db);
  for (let i = 0; i < 20; i++) await onT.query('INSERT INTO ledger (client, k) VALUES (77, $1)', [i]);
  await onT.query("UPDATE items SET v = 'changed on the target' WHERE id <= 10");
  await onT.end();

  const rb = await cli('rollback', ['-c', cfg, '--yes', '--json', 'rollback', db]);
  assert.equal((JSON.parse(rb.stdout) as { outcome: string }).outcome, 'done');
  for (const table of ['items', 'ledger']) {
    assert.deepEqual(await tableRows(pair.source, db, 'public', table), await tableRows(pair.target, db, 'public', table), `${table} differs after the rollback`);
  }
  // The source takes the application's writes again (its CONNECT given back), and its sequence continues.
  const onS = await appClient(pair.source, db);
  await onS.query('INSERT INTO ledger (client, k) VALUES (88, 1)');
  await onS.end();
  await assert.rejects(appClient(pair.target, db), /permission denied|CONNECT/i, 'the target is fenced after the rollback');

  await cli('cleanup', ['-c', cfg, '--yes', 'cleanup', db]);
  assert.deepEqual(await pgshiftObjects(pair.source, db), [], 'pgshift objects left on the source');
  assert.deepEqual(await pgshiftObjects(pair.target, db), [], 'pgshift objects left on the target');
  recorded.assertNoPasswordPrinted();
});
