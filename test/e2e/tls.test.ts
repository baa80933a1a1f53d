// TLS end to end (14 -> 17, both servers TLS-only: pg_hba.conf rejects every
// TCP connection, replication included, that is not encrypted). pgshift's own
// connections, pg_dump/pg_dumpall, the subscription's walsender on the source
// and, after switchover, the reverse subscription's walsender on the target
// are all encrypted with the sslmode/sslrootcert of the config (key=value on
// the source, URI on the target); sslmode=disable is refused with a hint that
// names the fix, and nothing is created on either cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClusters, type EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { loadConfig } from '../../src/config/config.js';
import { connect } from '../../src/pg/connect.js';
import { namesFor } from '../../src/replication/names.js';
import { BIN, runCli, waitFor, qi } from '../helpers/harness.js';
import { snapshots, writeConfigFor, type SideSpec } from '../helpers/cluster-state.js';

const FROM = 14; // pg_dump here is 15: schema copy needs a source <= 15
const TO = 17;
let source: EmbeddedCluster;
let target: EmbeddedCluster;
let dir: string;
let n = 0;

before(async () => {
  const clusters = await startClusters([FROM, TO], { tls: true });
  source = clusters[0]!;
  target = clusters[1]!;
  dir = mkdtempSync(join(tmpdir(), 'pgshift-tls-'));
});
after(async () => {
  await Promise.all([source?.destroy(), target?.destroy()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return { PGSHIFT_SOURCE_PASSWORD: source.password, PGSHIFT_TARGET_PASSWORD: target.password };
}

/** Source as key=value with verify-ca, target as a URI with verify-full; both name the CA file. */
function tlsSides(): [SideSpec, SideSpec] {
  const s = { ...source.params(), sslmode: 'verify-ca', sslrootcert: source.tls!.caFile };
  const t = `postgresql://postgres@127.0.0.1:${target.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(target.tls!.caFile)}`;
  return [{ cluster: source, conn: formatConninfo(s) }, { cluster: target, conn: t }];
}

async function freshDb(prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${++n}`;
  await source.createDatabase(name);
  await source.sql(`
    CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
    CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), what text);
    INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5 FROM generate_series(1, 2000) g;
    INSERT INTO events (what) SELECT 'e' || g FROM generate_series(1, 300) g;
  `, [], name);
  return name;
}

/** The walsender streaming the given slot, with whether its connection is encrypted. */
async function walsenderSsl(c: EmbeddedCluster, slot: string): Promise<{ ssl: boolean; version: string | null } | undefined> {
  const rows = await c.sql<{ ssl: boolean; version: string | null }>(
    `SELECT s.ssl, s.version FROM pg_replication_slots rs
       JOIN pg_stat_replication r ON r.pid = rs.active_pid
       JOIN pg_stat_ssl s ON s.pid = r.pid
      WHERE rs.slot_name = $1`, [slot]);
  return rows[0];
}

async function rowsOf(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ r: string }>('SELECT a::text AS r FROM accounts a ORDER BY id', [], db)).map((x) => x.r);
}

test('run over TLS: every connection encrypted, schema by pg_dump, subscription walsender on TLS with the config\'s sslmode and CA', async () => {
  const db = await freshDb('tls run');
  const [s, t] = tlsSides();
  const cfg = await writeConfigFor(dir, `run-${n}.yml`, s, t, [db]);

  // The servers reject plain text, so success is itself the proof; pg_stat_ssl says so positively below.
  const r = await runCli(['-c', cfg, '--json', 'run', db], { env: env(), timeoutMs: 150_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const steps = (JSON.parse(r.stdout) as { steps: { step: string; state: string }[] }).steps;
  assert.deepEqual(steps.map((x) => `${x.step}:${x.state}`), ['check:done', 'roles:done', 'schema:done', 'start:done', 'wait:done', 'analyze:done']);
  assert.deepEqual(await rowsOf(target, db), await rowsOf(source, db));

  const names = namesFor(db);
  const [sub] = await target.sql<{ conninfo: string }>('SELECT subconninfo AS conninfo FROM pg_subscription WHERE subname = $1', [names.subscription]);
  assert.match(sub!.conninfo, /sslmode='?verify-ca'?/);
  assert.ok(sub!.conninfo.includes(source.tls!.caFile), `sslrootcert not passed to the subscription: ${sub!.conninfo.replace(/password=\S+/, '')}`);
  await waitFor(async () => (await walsenderSsl(source, names.slot)) !== undefined, { timeoutMs: 30_000, what: 'the subscription\'s walsender' });
  const ws = await walsenderSsl(source, names.slot);
  assert.equal(ws?.ssl, true, 'the subscription streams from the source in plain text');
  assert.match(ws?.version ?? '', /^TLS/);

  // Changes keep flowing over that connection.
  await source.sql("UPDATE accounts SET balance = balance + 1 WHERE id <= 10; INSERT INTO accounts VALUES (5000, 'late', 0)", [], db);
  await waitFor(async () => (await target.sql('SELECT 1 FROM accounts WHERE id = 5000', [], db)).length === 1, { timeoutMs: 30_000, what: 'a change to arrive' });
  assert.deepEqual(await rowsOf(target, db), await rowsOf(source, db));

  // pgshift's own sessions: a library connection from this config, and a long-lived status --watch.
  const config = loadConfig(cfg, env());
  for (const side of ['source', 'target'] as const) {
    const conn = await connect(side, config[side], { database: db });
    try {
      const me = await conn.one<{ ssl: boolean }>('SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_backend_pid()');
      assert.equal(me.ssl, true, `${side} connection not encrypted`);
    } finally {
      await conn.close();
    }
  }
  const watch = spawn(process.execPath, [BIN, '-c', cfg, 'status', db, '--watch', '--interval', '200ms'], {
    env: { ...process.env, NO_COLOR: '1', ...env() }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let watchErr = '';
  watch.stderr.on('data', (d: Buffer) => (watchErr += d.toString()));
  try {
    for (const c of [source, target]) {
      const sessions = async (): Promise<{ ssl: boolean }[]> => c.sql<{ ssl: boolean }>(
        "SELECT s.ssl FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.application_name LIKE 'pgshift%' AND a.datname = $1", [db]);
      await waitFor(async () => (await sessions()).length > 0, { timeoutMs: 30_000, what: `status --watch to connect to ${c === source ? 'source' : 'target'} (${watchErr})` });
      assert.ok((await sessions()).every((x) => x.ssl), 'a pgshift session in plain text');
    }
  } finally {
    watch.kill('SIGTERM');
  }
});

test('sslmode=disable against a TLS-only server: a clear error naming the fix, nothing created', async () => {
  const db = await freshDb('tls off');
  const [, t] = tlsSides();
  const plainSource = { ...source.params(), sslmode: 'disable' };
  delete (plainSource as Record<string, string>).sslrootcert;
  const cfg = await writeConfigFor(dir, `off-${n}.yml`, { cluster: source, conn: formatConninfo(plainSource) }, t, [db]);
  const before = await snapshots(source, target);
  for (const args of [['check'], ['run', db], ['schema', db], ['start', db], ['roles'], ['switchover', db, '--pause', 'revoke']]) {
    const r = await runCli(['-c', cfg, '--yes', ...args], { env: env() });
    assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /source .*requires TLS.*sslmode=disable.*no encryption/, args.join(' '));
    assert.match(r.stderr, /hint: Set sslmode=verify-full \(or verify-ca\) and sslrootcert=/, args.join(' '));
    assert.ok(!r.stderr.includes(source.password), 'password printed');
  }
  const j = await runCli(['-c', cfg, '--json', 'check'], { env: env() });
  assert.equal(j.code, 4); // cannot connect
  assert.equal((JSON.parse(j.stdout) as { code: string }).code, 'tls_required');
  assert.deepEqual(await snapshots(source, target), before, 'a refused command changed a cluster');
});

test('switchover over TLS: the reverse subscription streams from the target encrypted', async () => {
  const db = await freshDb('tls sw');
  await target.createDatabase(db);
  await target.sql(`
    CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric NOT NULL);
    CREATE TABLE events (at timestamptz NOT NULL DEFAULT now(), what text);
  `, [], db);
  const [s, t] = tlsSides();
  const cfg = await writeConfigFor(dir, `sw-${n}.yml`, s, t, [db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n  reverse: true\n');
  const st = await runCli(['-c', cfg, 'start', db], { env: env() });
  assert.equal(st.code, 0, st.stderr);
  const w = await runCli(['-c', cfg, 'wait', db, '--timeout', '90s'], { env: env(), timeoutMs: 120_000 });
  assert.equal(w.code, 0, w.stderr);

  const r = await runCli(['-c', cfg, '--yes', '--json', 'switchover', db], { env: env(), timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.equal((JSON.parse(r.stdout) as { outcome: string }).outcome, 'done');
  assert.deepEqual(await rowsOf(target, db), await rowsOf(source, db));

  const names = namesFor(db);
  const [rev] = await source.sql<{ conninfo: string }>('SELECT subconninfo AS conninfo FROM pg_subscription WHERE subname = $1', [names.reverseSubscription]);
  assert.ok(rev, 'no reverse subscription on the source');
  assert.match(rev.conninfo, /sslmode='?verify-full'?/);
  assert.ok(rev.conninfo.includes(target.tls!.caFile), 'sslrootcert not passed to the reverse subscription');
  await waitFor(async () => (await walsenderSsl(target, names.reverseSlot)) !== undefined, { timeoutMs: 30_000, what: 'the reverse subscription\'s walsender' });
  assert.equal((await walsenderSsl(target, names.reverseSlot))?.ssl, true, 'reverse replication in plain text');

  // A write on the new primary reaches the old one over that connection.
  await target.sql("INSERT INTO accounts VALUES (9000, 'after switchover', 1)", [], db);
  await waitFor(async () => (await source.sql(`SELECT 1 FROM ${qi('accounts')} WHERE id = 9000`, [], db)).length === 1, { timeoutMs: 30_000, what: 'the reverse change' });
});
