// The whole flow as NON-superusers (14 -> 17), through the CLI, the way it
// runs on a managed service: on the source a login role "migrator" with
// REPLICATION and CREATEROLE that owns the application's database and tables
// and may signal other backends (pg_signal_backend); on the target a role
// "tadmin" with CREATEDB, CREATEROLE, REPLICATION and pg_create_subscription,
// like an RDS master user minus rds_superuser. Both servers log every
// statement. An application role "app" writes to the source all along.
// check -> roles --managed -> schema -> start -> wait (under load) -> verify
// --mode full -> switchover --pause revoke -> status -> rollback -> cleanup:
// check names the privileges the switchover and the rollback will lack;
// every row arrives, verify finds no difference, every acknowledged write is
// on the target, the CREATE SUBSCRIPTION warning about the statement log
// appears (and does not once the target grants SET ON PARAMETER), no password
// is printed, and nothing of pgshift's is left on either side.
// Privileges a non-superuser lacks are refused up front with a hint naming
// them: reverse replication into a source < 16 (CREATE SUBSCRIPTION needs a
// superuser there), and a revoke fence without ownership of the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Pair, waitFor, qi, tableRows } from '../helpers/harness.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteLiteral } from '../../src/pg/quote.js';
import { namesFor } from '../../src/replication/names.js';
import { writeConfigFor } from '../helpers/cluster-state.js';
import { LOG_EVERYTHING, holding } from './server-log.js';
import { APP_PW, MIGRATOR_PW, NEEDLES, TADMIN_PW, createRole, pgshiftObjects, RecordedCli, startWriters } from './non-superuser-fixture.js';

const FROM = 14;
const TO = 17;
// Parameters a role needs SET on for pgshift to keep a CREATE SUBSCRIPTION out of the log.
const QUIET_PARAMS = ['log_statement', 'log_min_duration_statement', 'log_min_duration_sample', 'log_transaction_sample_rate', 'log_min_error_statement'];

let pair: Pair;
const recorded = new RecordedCli();
const cli = recorded.run.bind(recorded);

before(async () => {
  pair = await Pair.start(FROM, TO, { settings: { ...LOG_EVERYTHING } });
  // Source: what an RDS-like admin gives a migration user.
  await createRole(pair.source, 'migrator', MIGRATOR_PW, 'LOGIN REPLICATION CREATEROLE');
  await pair.source.sql('GRANT pg_signal_backend TO migrator');
  await createRole(pair.source, 'app', APP_PW, 'LOGIN');
  // Target: CREATEDB (schema creates the database), CREATEROLE (roles),
  // REPLICATION (the reverse slot), pg_create_subscription (17).
  await createRole(pair.target, 'tadmin', TADMIN_PW, 'LOGIN CREATEDB CREATEROLE REPLICATION');
  await pair.target.sql('GRANT pg_create_subscription TO tadmin');
});
after(async () => {
  await pair?.stop();
});

/** The application's database on the source, owned by migrator, tables created by migrator, app may write. */
async function appDatabase(prefix: string): Promise<string> {
  const db = await pair.freshDatabase(prefix);
  await pair.source.sql(`ALTER DATABASE ${qi(db)} OWNER TO migrator`);
  await pair.source.sql(`SET ROLE migrator;
    CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL);
    CREATE TABLE ledger (id bigserial PRIMARY KEY, client int NOT NULL, k int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE TABLE "Odd ""name""" (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text);
    CREATE SEQUENCE standalone START 100 INCREMENT 5;
    CREATE UNLOGGED TABLE scratch (v int);
    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 2000) g;
    INSERT INTO "Odd ""name""" (note) SELECT 'n' || g FROM generate_series(1, 50) g;
    INSERT INTO scratch SELECT generate_series(1, 300);
    SELECT nextval('standalone'), nextval('standalone');
    SELECT lo_from_bytea(424242, 'large object bytes');
    GRANT ALL ON ALL TABLES IN SCHEMA public TO app;
    GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO app;`, [], db);
  return db;
}

async function configFor(db: string, extra = ''): Promise<string> {
  // The source as a URI, the target as key=value; both with the migration roles.
  const s = pair.source;
  const sourceUri = `postgresql://migrator@${s.host}:${s.port}/postgres`;
  return writeConfigFor(pair.dir, `nonsuper-${db}.yml`, { cluster: s, conn: sourceUri }, { cluster: pair.target, conn: formatConninfo(pair.target.params('postgres', 'tadmin')) }, [db], extra);
}

test(`non-superusers ${FROM}->${TO}: check, roles, schema, start, wait, verify, revoke switchover, status, rollback, cleanup`, async () => {
  const db = await appDatabase('nonsuper');
  const cfg = await configFor(db, 'switchover:\n  pause: revoke\n  max_pause: 10s\n');

  // check needs no superuser for replication itself, but says now, before
  // hours of copying, what the switchover and the rollback would refuse on.
  const check = await cli('check', ['-c', cfg, 'check', db], 1);
  const fails = check.stderr.split('\n').filter((l) => /^\s+FAIL/.test(l));
  assert.equal(fails.length, 2, check.stderr);
  assert.match(fails[0]!, /switchover \(pause method revoke\) would be refused: .*reverse replication needs a subscription on the source, and on PostgreSQL 14 only a superuser may create one/);
  assert.match(fails[0]!, /source role migrator cannot see other roles' sessions/);
  assert.match(fails[0]!, /may not create pgshift's fence record \(schema pgshift\) in database postgres/);
  assert.match(fails[1]!, /rollback \(pause method revoke\) would be refused: .*target role tadmin may not end other roles' sessions/);
  assert.match(check.stderr, /fix: .*GRANT pg_read_all_stats TO "migrator" on the source/);

  // The target role cannot copy REPLICATION (migrator has it): --managed strips it.
  const roles = await cli('roles', ['-c', cfg, '--yes', 'roles', '--managed']);
  assert.match(roles.stderr, /cannot read pg_authid/, 'says password hashes could not be copied');
  // A DBA sets the application's password on the target (hashes are not readable as a non-superuser).
  await pair.target.sql(`ALTER ROLE app PASSWORD ${quoteLiteral(APP_PW)}`);

  await cli('schema', ['-c', cfg, '--yes', 'schema', db]);
  const [owner] = await pair.target.sql<{ o: string }>('SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1', [db]);
  assert.equal(owner!.o, 'migrator', 'the target database keeps the source owner');

  const writers = startWriters(pair.source, db, 3);
  try {
    await waitFor(async () => writers.acked.size > 50, { timeoutMs: 30_000, what: 'writers to start' });
    const start = await cli('start', ['-c', cfg, '--yes', 'start', db]);
    // tadmin may not turn log_statement off: the CREATE SUBSCRIPTION text, password included, reaches the target log.
    assert.match(start.stderr, /the target server records the text of CREATE SUBSCRIPTION .*log_statement = all/s, 'start warns that the statement is logged');
    await cli('wait', ['-c', cfg, 'wait', db, '--timeout', '90s']);
    const verify = await cli('verify', ['-c', cfg, 'verify', db, '--mode', 'full']);
    assert.doesNotMatch(verify.stderr, /differ/i);

    // Refused in preflight, nothing created or paused: reverse replication into a 14
    // source (CREATE SUBSCRIPTION needs a superuser there), and the fence record
    // (schema pgshift in the maintenance database "postgres", where migrator may not CREATE),
    // the sessions' state.
    const refused = await cli('switchover (refused)', ['-c', cfg, '--yes', 'switchover', db], 1);
    assert.match(refused.stderr, /reverse replication needs a subscription on the source, and on PostgreSQL 14 only a superuser may create one/);
    assert.match(refused.stderr, /may not create pgshift's fence record \(schema pgshift\) in database postgres/);
    // Without pg_read_all_stats, pg_stat_activity hides the app's sessions: the fence would neither end nor see them.
    assert.match(refused.stderr, /source role migrator cannot see other roles' sessions/);
    assert.match(refused.stderr, /GRANT pg_read_all_stats TO "migrator" on the source/);
    assert.match(refused.stderr, /^hint: Nothing was changed\. (?=.*--no-reverse)(?=.*GRANT CREATE ON DATABASE "postgres" TO "migrator" on the source)/m);
    assert.equal((await pair.target.sql("SELECT 1 FROM pg_publication WHERE pubname LIKE 'pgshift%'", [], db)).length, 0, 'a reverse publication was made');
    assert.equal((await pair.source.sql("SELECT 1 FROM pg_namespace WHERE nspname = 'pgshift'")).length, 0, 'a fence record was made');
    assert.equal((await pair.source.sql("SELECT has_database_privilege('app', $1, 'CONNECT') AS c", [db]))[0]!.c, true, 'the app was fenced');
    await pair.source.sql('GRANT CREATE ON DATABASE postgres TO migrator; GRANT pg_read_all_stats TO migrator');

    // A superuser session the fence may not end (migrator cannot terminate it): idle, so the switchover goes on.
    const dba = await pair.source.client(db);
    try {
      const sw = await cli('switchover', ['-c', cfg, '--yes', '--json', 'switchover', db, '--no-reverse']);
      const doc = JSON.parse(sw.stdout) as { outcome: string; copied: { table: string; rows: number }[]; largeObjects: number };
      assert.equal(doc.outcome, 'done');
      assert.deepEqual(doc.copied, [{ table: 'public.scratch', rows: 300 }]);
      assert.equal(doc.largeObjects, 1);
      assert.match(sw.stderr + sw.stdout, /outside the pause method/, 'the superuser session left connected is reported');
    } finally {
      await dba.end();
    }
  } finally {
    writers.stop();
  }
  assert.ok((await writers.done) >= 1, 'the fence cut the writers off');

  // Every acknowledged write, every row, every sequence is on the target.
  const onTarget = new Set((await pair.target.sql<{ id: string }>('SELECT id::text FROM ledger', [], db)).map((x) => x.id));
  for (const id of writers.acked) assert.ok(onTarget.has(id), `acknowledged ledger id ${id} missing on the target`);
  for (const t of ['items', 'ledger', 'Odd "name"', 'scratch']) {
    assert.deepEqual(await tableRows(pair.target, db, 'public', t), await tableRows(pair.source, db, 'public', t), `${t} differs`);
  }
  assert.equal((await pair.target.sql<{ v: string }>("SELECT nextval('standalone')::text AS v", [], db))[0]!.v, '110');
  assert.equal((await pair.target.sql<{ b: string }>("SELECT convert_from(lo_get(424242), 'UTF8') AS b", [], db))[0]!.b, 'large object bytes');
  // The app is fenced off the source and works on the target.
  const a = new pg.Client({ host: pair.target.host, port: pair.target.port, user: 'app', password: APP_PW, database: db });
  await a.connect();
  await a.query('INSERT INTO ledger (client, k) VALUES (99, 1)');
  await a.end();

  const st = await cli('status', ['-c', cfg, '--json', 'status', db]);
  const sd = (JSON.parse(st.stdout) as { databases: { phase: string; problems: unknown[] }[] }).databases[0]!;
  assert.equal(sd.phase, 'switched over');
  assert.deepEqual(sd.problems, []);

  // No reverse replication (--no-reverse): rollback says so instead of acting.
  const rb = await cli('rollback', ['-c', cfg, '--yes', 'rollback', db], 1);
  assert.match(rb.stderr, /reverse/);
  assert.match(rb.stderr, /^hint: /m);

  await cli('cleanup', ['-c', cfg, '--yes', 'cleanup', db]);
  assert.deepEqual(await pgshiftObjects(pair.source, db), [], 'pgshift objects left on the source');
  assert.deepEqual(await pgshiftObjects(pair.target, db), [], 'pgshift objects left on the target');
  const names = namesFor(db);
  assert.equal((await pair.source.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).length, 0);

  recorded.assertNoPasswordPrinted();
});

test(`non-superusers ${FROM}->${TO}: no statement-log warning once the target grants SET ON PARAMETER`, async () => {
  const db = await appDatabase('nonsuper_quiet');
  const cfg = await configFor(db);
  await pair.target.sql(`GRANT SET ON PARAMETER ${QUIET_PARAMS.join(', ')} TO tadmin`);
  const logBefore = pair.target.log().length;
  try {
    await cli('schema (quiet)', ['-c', cfg, '--yes', 'schema', db]);
    const start = await cli('start (quiet)', ['-c', cfg, '--yes', 'start', db]);
    assert.doesNotMatch(start.stderr, /records the text of|logs, if the statement fails/, 'no warning: the role may turn statement logging off');
    // And the log indeed does not hold the password.
    assert.deepEqual(holding(pair.target.log().slice(logBefore), NEEDLES), [], 'the target log holds the password');
    await cli('cleanup (quiet)', ['-c', cfg, '--yes', 'cleanup', db]);
    assert.deepEqual(await pgshiftObjects(pair.source, db), []);
    assert.deepEqual(await pgshiftObjects(pair.target, db), []);
  } finally {
    await pair.target.sql(`REVOKE SET ON PARAMETER ${QUIET_PARAMS.join(', ')} FROM tadmin`);
  }
  recorded.assertNoPasswordPrinted();
});
