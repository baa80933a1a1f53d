// Hostile passwords (' \ @ % spaces " = : / ? # & + unicode) for a login
// role on both clusters (13 -> 17), given in each form a config allows: a
// URI with percent-encoding, key=value with libpq quoting, and the
// `password:` key with ${VAR}. In each form pgshift's own connections work
// (check, status), pg_dump works (schema; the password travels in
// PGPASSWORD), and the subscription's connection works (start -> wait ->
// every row arrives), so the conninfo pgshift writes into CREATE
// SUBSCRIPTION escapes the password correctly. A passfile named in
// conn_from_target replaces the password in the subscription; a role that
// may not turn statement logging off gets a warning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pair, runCli, tableRows, versionPairs } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { connect } from '../../src/pg/connect.js';
import { runSecretStatement } from '../../src/pg/secret-statement.js';
import type { PgshiftEvent } from '../../src/events.js';
import { LOG_EVERYTHING, holding, leakForms, setPassword } from './server-log.js';

const [[FROM, TO]] = versionPairs([[13, 17]]) as [[number, number]];
const ROLE = 'migrator';
// "%41" would turn into "A" if a percent-encoded password were decoded twice.
const PASSWORDS = {
  source: `Hp9src p@ss w'o\\rd %41 "q" =x ü表 :/?#&+`,
  target: `Hp9tgt p@ss w'o\\rd %41 "q" =x ü表 :/?#&+`,
};
const NEEDLES = ['Hp9src', 'Hp9tgt', ...leakForms(PASSWORDS.source), ...leakForms(PASSWORDS.target)];

type Form = 'uri' | 'keyvalue' | 'env';
let pair: Pair;
let passDir: string | undefined;

before(async () => {
  pair = await Pair.start(FROM, TO, { settings: LOG_EVERYTHING });
  await setPassword(pair.source, ROLE, PASSWORDS.source, 'SUPERUSER LOGIN');
  await setPassword(pair.target, ROLE, PASSWORDS.target, 'SUPERUSER LOGIN');
});
after(async () => {
  await pair?.stop();
  if (passDir) rmSync(passDir, { recursive: true, force: true });
});

function libpqQuoted(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** One side of the config in the given form, and the env it needs. */
function endpointYaml(c: EmbeddedCluster, side: 'source' | 'target', form: Form, sysid: string, extra = ''): string {
  const pw = PASSWORDS[side];
  let conn: string;
  let password = '';
  if (form === 'uri') conn = `postgresql://${ROLE}:${encodeURIComponent(pw)}@${c.host}:${c.port}/postgres`;
  else if (form === 'keyvalue') conn = `host=${c.host} port=${c.port} user=${ROLE} dbname=postgres password=${libpqQuoted(pw)}`;
  else {
    conn = formatConninfo(c.params('postgres', ROLE));
    password = `  password: \${HP_${side.toUpperCase()}_PASSWORD}\n`;
  }
  return `${side}:\n  conn: ${JSON.stringify(conn)}\n${password}  system_identifier: "${sysid}"\n${extra}`;
}

async function writeConfig(db: string, form: Form, sourceExtra = ''): Promise<string> {
  const [ss, ts] = await Promise.all([pair.source.systemIdentifier(), pair.target.systemIdentifier()]);
  const text = endpointYaml(pair.source, 'source', form, ss, sourceExtra) + endpointYaml(pair.target, 'target', form, ts) +
    `databases:\n  ${JSON.stringify(db)}: {}\n`;
  const path = join(pair.dir, `hostile-pw-${form}-${db}.yml`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

// Nothing of the superuser's: pgshift must get by with what the config says.
const ENV = { HP_SOURCE_PASSWORD: PASSWORDS.source, HP_TARGET_PASSWORD: PASSWORDS.target, PGSHIFT_SOURCE_PASSWORD: '', PGSHIFT_TARGET_PASSWORD: '' };

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, { env: ENV });
  assert.equal(r.code, 0, `pgshift ${args.slice(2).join(' ')}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.deepEqual(holding(r.stdout + r.stderr, NEEDLES), [], 'the password was printed');
  return r.stdout;
}

async function flow(form: Form, sourceExtra = ''): Promise<string> {
  const db = await pair.freshDatabase(`pw_${form}`);
  await pair.source.sql(`CREATE TABLE t (id int PRIMARY KEY, v text);
    INSERT INTO t SELECT g, repeat('v', g % 7) FROM generate_series(1, 300) g`, [], db);
  const config = await writeConfig(db, form, sourceExtra);
  await cli(['-c', config, 'check', db]);
  await cli(['-c', config, '--yes', 'schema', db]);
  await cli(['-c', config, '--yes', 'start', db]);
  await pair.source.sql("INSERT INTO t VALUES (1001, 'after start')", [], db);
  await cli(['-c', config, 'wait', db, '--timeout', '90s']);
  assert.deepEqual(await tableRows(pair.target, db, 'public', 't'), await tableRows(pair.source, db, 'public', 't'));
  const status = JSON.parse(await cli(['-c', config, '--json', 'status', db]));
  assert.ok(status);
  // The subscription runs as the configured login role.
  const [sub] = await pair.target.sql<{ subconninfo: string }>('SELECT subconninfo FROM pg_subscription', [], db);
  assert.match(sub!.subconninfo, /user='?migrator/);
  await cli(['-c', config, '--yes', 'cleanup', db]);
  return sub!.subconninfo;
}

for (const form of ['uri', 'keyvalue', 'env'] as const) {
  test(`hostile password as ${form}: check, schema (pg_dump), start -> wait (subscription), status`, async () => {
    const conninfo = await flow(form);
    assert.ok(conninfo.includes('Hp9src'), 'the subscription authenticated with the password pgshift passed on');
  });
}

test('a passfile in conn_from_target keeps the password out of the subscription, and replication still works', async () => {
  // The target server reads the file: it must own it, mode 0600, in a directory it can enter.
  passDir = mkdtempSync(join(tmpdir(), 'pgshift-passfile-'));
  chmodSync(passDir, 0o755);
  const file = join(passDir, 'pgpass');
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  writeFileSync(file, `${pair.source.host}:${pair.source.port}:*:${ROLE}:${esc(PASSWORDS.source)}\n`, { mode: 0o600 });
  if (pair.target.runAs) chownSync(file, pair.target.runAs.uid, pair.target.runAs.gid);
  const extra = `  conn_from_target: ${JSON.stringify(`host=${pair.source.host} port=${pair.source.port} user=${ROLE} passfile=${file}`)}\n`;
  const conninfo = await flow('env', extra);
  assert.ok(!conninfo.includes('password'), `no password in pg_subscription.subconninfo: ${conninfo.replace(/password=\S+/, 'password=***')}`);
  assert.match(conninfo, /passfile=/);
});

test('a role that may not turn statement logging off is warned that the server logs the statement', async () => {
  await setPassword(pair.target, 'plain', PASSWORDS.target, 'LOGIN');
  const ep = { conn: pair.target.params('postgres', 'plain'), password: PASSWORDS.target, systemIdentifier: await pair.target.systemIdentifier() };
  const events: PgshiftEvent[] = [];
  const db = await connect('target', ep);
  try {
    await runSecretStatement(db, 'SELECT 1', [], { what: 'a test statement', emit: (e) => events.push(e) });
    const warn = events.find((e) => e.type === 'warn');
    assert.ok(warn && warn.type === 'warn');
    assert.equal(warn.code, 'secret_exposed');
    assert.match(warn.message, /log_statement = all/);
    assert.match(warn.fix ?? '', /GRANT SET ON PARAMETER/);
  } finally {
    await db.close();
  }
  // With SET granted (15+), the session quiets itself and there is nothing to warn about.
  await pair.target.sql('GRANT SET ON PARAMETER log_statement, log_min_duration_statement, log_min_error_statement TO plain');
  const db2 = await connect('target', ep);
  events.length = 0;
  try {
    await runSecretStatement(db2, 'SELECT 2', [], { what: 'a test statement', emit: (e) => events.push(e) });
    assert.deepEqual(events, []);
  } finally {
    await db2.close();
  }
  assert.ok(!/statement: SELECT 2/.test(pair.target.log()), 'the quieted statement is not in the log');
  assert.match(pair.target.log(), /statement: SELECT 1/, 'without the privilege it was logged, as the warning said');
});
