// Refusals before any change, on real clusters (a 14 and a 17, plus a clone
// of the 14): a downgrade, a target that is a copy of the source, a target
// that already holds tables or rows, roles without the privileges a
// migration needs, and a switchover with reverse replication to a target
// without wal_level = logical. Every command that would act (check, run, start, schema,
// roles, switchover) stops with a clear error, the right exit code and a
// hint, and both clusters are exactly as they were: databases, roles, slots,
// subscriptions, publications, schema objects, replica identities, rows.
// (check's own findings for these are in check.test.ts.)
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedCluster, startClusters } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteLiteral } from '../../src/pg/quote.js';
import { runCli, qi, type CliResult } from '../helpers/harness.js';
import { snapshots, writeConfigFor } from '../helpers/cluster-state.js';

const OLD = 14;
const NEW = 17;
const WEAK_PASSWORD = "we'ak \\@ %pw";
let older: EmbeddedCluster;
let newer: EmbeddedCluster;
let dir: string;
let n = 0;

before(async () => {
  const cs = await startClusters([OLD, NEW]);
  older = cs[0]!;
  newer = cs[1]!;
  dir = mkdtempSync(join(tmpdir(), 'pgshift-refusals-'));
});
after(async () => {
  await Promise.all([older?.destroy(), newer?.destroy()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SCHEMA = `
  CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL);
  CREATE TABLE notes (body text);
`;

async function sourceDb(c: EmbeddedCluster, prefix: string): Promise<string> {
  const name = `${prefix}_${process.pid}_${++n}`;
  await c.createDatabase(name);
  await c.sql(`${SCHEMA} INSERT INTO accounts SELECT g, 'o' || g FROM generate_series(1, 100) g; INSERT INTO notes VALUES ('a'), ('b');`, [], name);
  return name;
}

function envFor(source: EmbeddedCluster, target: EmbeddedCluster, sourcePw = source.password, targetPw = target.password): Record<string, string> {
  return { PGSHIFT_SOURCE_PASSWORD: sourcePw, PGSHIFT_TARGET_PASSWORD: targetPw };
}

interface Expect {
  code: number;
  message: RegExp;
  /** Expected "code" of the --json error document. */
  errorCode?: string | RegExp;
}

/** Run one command, human and --json; assert the exit code, the message, a hint, the error code. */
async function refused(cfg: string, args: string[], env: Record<string, string>, want: Expect): Promise<void> {
  const what = args.join(' ');
  const h: CliResult = await runCli(['-c', cfg, '--yes', ...args], { env });
  assert.equal(h.code, want.code, `${what}: exit ${h.code}\n${h.stderr}`);
  assert.match(h.stderr, want.message, what);
  // check reports a "fix:" under each failing finding instead of one hint.
  assert.match(h.stderr, args[0] === 'check' ? /^\s+fix: \S/m : /^hint: \S/m, `${what}: no hint\n${h.stderr}`);
  for (const pw of Object.values(env)) assert.ok(!h.stderr.includes(pw) && !h.stdout.includes(pw), `${what}: password printed`);
  if (want.errorCode !== undefined) {
    const j = await runCli(['-c', cfg, '--yes', '--json', ...args], { env });
    assert.equal(j.code, want.code, `${what} --json`);
    const doc = JSON.parse(j.stdout) as { ok: boolean; code: string; hint?: string };
    assert.equal(doc.ok, false);
    if (typeof want.errorCode === 'string') assert.equal(doc.code, want.errorCode, what);
    else assert.match(doc.code, want.errorCode, what);
    assert.ok(doc.hint, `${what}: no hint in JSON`);
  }
}

describe('refusals before any change', () => {
  test(`a downgrade (${NEW} -> ${OLD}) is refused by every command`, async () => {
    const db = await sourceDb(newer, 'down');
    // Even with the schema provisioned on the target, start and schema refuse.
    await older.createDatabase(db);
    await older.sql(SCHEMA, [], db);
    const cfg = await writeConfigFor(dir, `down-${n}.yml`, { cluster: newer }, { cluster: older }, [db]);
    const env = envFor(newer, older);
    const before = await snapshots(newer, older);
    const older17 = new RegExp(`target major ${OLD} is older than source major ${NEW}`);
    await refused(cfg, ['check'], env, { code: 1, message: older17 });
    await refused(cfg, ['run', db], env, { code: 1, message: older17, errorCode: 'check_failed' });
    await refused(cfg, ['start', db], env, { code: 3, message: older17, errorCode: 'unsupported_versions' });
    await refused(cfg, ['schema', db], env, { code: 3, message: older17, errorCode: 'unsupported_versions' });
    await refused(cfg, ['roles'], env, { code: 3, message: older17, errorCode: 'unsupported_versions' });
    await refused(cfg, ['start', db, '--copy', 'fast'], env, { code: 3, message: older17, errorCode: 'unsupported_versions' });
    await refused(cfg, ['switchover', db, '--pause', 'revoke'], env, { code: 1, message: /no forward subscription/, errorCode: 'switchover_preflight' });
    assert.deepEqual(await snapshots(newer, older), before, 'a refused command changed a cluster');
  });

  test('a target that is a clone of the source (same system_identifier) is refused', async () => {
    // Copied from the same initdb template as `older`: the same system_identifier, like a physical copy.
    const clone = await EmbeddedCluster.start({ major: OLD, name: 'clone' });
    try {
      assert.equal(await clone.systemIdentifier(), await older.systemIdentifier());
      const db = await sourceDb(older, 'clone');
      // A physical copy has every database of the source.
      await clone.createDatabase(db);
      const before = await snapshots(older, clone, newer);
      const env = envFor(older, clone);

      const out = join(dir, `init-${n}.yml`);
      const init = await runCli(['init', '--source', formatConninfo(older.params()), '--target', formatConninfo(clone.params()), '-o', out], { env });
      assert.equal(init.code, 3, init.stderr);
      assert.match(init.stderr, /source and target have the same system_identifier/);
      assert.match(init.stderr, /^hint: .*physical copy/m);
      assert.ok(!existsSync(out), 'init wrote a config');

      // Written by hand: the config itself is refused, before any connection.
      const same = await writeConfigFor(dir, `same-${n}.yml`, { cluster: older }, { cluster: clone }, [db]);
      for (const args of [['check'], ['run', db], ['start', db], ['schema', db], ['roles'], ['switchover', db]]) {
        const r = await runCli(['-c', same, '--yes', ...args], { env });
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /target\.system_identifier: is the same as source\.system_identifier .*must be different clusters/, args.join(' '));
      }

      // The config names the real target's identifier but target.conn reaches the clone: every connection refuses it.
      const wrong = await writeConfigFor(dir, `wrong-${n}.yml`, { cluster: older }, { cluster: clone, systemIdentifier: await newer.systemIdentifier() }, [db]);
      const wrongCluster = /target .* is not the configured cluster: expected system_identifier \d+, found \d+/;
      await refused(wrong, ['run', db], env, { code: 3, message: wrongCluster, errorCode: 'wrong_cluster' });
      for (const args of [['start', db], ['schema', db], ['roles'], ['switchover', db, '--pause', 'revoke']]) {
        await refused(wrong, args, env, { code: 3, message: wrongCluster });
      }
      assert.deepEqual(await snapshots(older, clone, newer), before, 'a refused command changed a cluster');
    } finally {
      await clone.destroy();
    }
  });

  test('a target database that already holds tables (schema) or rows (start, run) is refused', async () => {
    const env = envFor(older, newer);
    // Unrelated tables where schema would create the source's.
    const other = await sourceDb(older, 'other');
    await newer.createDatabase(other);
    await newer.sql('CREATE TABLE legacy (id int PRIMARY KEY, v text); INSERT INTO legacy VALUES (1, \'keep me\')', [], other);
    const cfgOther = await writeConfigFor(dir, `other-${n}.yml`, { cluster: older }, { cluster: newer }, [other]);
    const before1 = await snapshots(older, newer);
    await refused(cfgOther, ['schema', other], env, { code: 3, message: /already has 1 user table\(s\) that do not match the source schema \(public\.legacy\)/, errorCode: 'target_not_empty' });
    await refused(cfgOther, ['run', other], env, { code: 1, message: /already holds data/, errorCode: 'check_failed' });
    assert.deepEqual(await snapshots(older, newer), before1, 'a refused command changed a cluster');

    // The right schema, but rows in it: the initial copy would add the source's rows to them.
    const rows = await sourceDb(older, 'rows');
    await newer.createDatabase(rows);
    await newer.sql(`${SCHEMA} INSERT INTO accounts VALUES (1, 'already here')`, [], rows);
    const cfgRows = await writeConfigFor(dir, `rows-${n}.yml`, { cluster: older }, { cluster: newer }, [rows]);
    const before2 = await snapshots(older, newer);
    await refused(cfgRows, ['start', rows], env, { code: 3, message: /already has rows in public\.accounts/, errorCode: 'target_has_rows' });
    await refused(cfgRows, ['start', rows, '--copy', 'fast'], env, { code: 3, message: /already has rows in public\.accounts/, errorCode: 'target_has_rows' });
    await refused(cfgRows, ['run', rows], env, { code: 1, message: /already holds data/, errorCode: 'check_failed' });
    await refused(cfgRows, ['switchover', rows, '--pause', 'revoke'], env, { code: 1, message: /no forward subscription/ });
    assert.deepEqual(await snapshots(older, newer), before2, 'a refused command changed a cluster');
    assert.deepEqual(await newer.sql('SELECT id::int AS id, owner FROM accounts', [], rows), [{ id: 1, owner: 'already here' }]);
  });

  test('reverse replication from a target without wal_level = logical: the switchover is refused before the pause', async () => {
    // A subscriber needs no logical WAL, so replication runs; the reverse slot on the target could not be made.
    const plain = await EmbeddedCluster.start({ major: NEW, name: 'wal-replica', settings: { wal_level: 'replica' } });
    try {
      const db = await sourceDb(older, 'walrep');
      await plain.createDatabase(db);
      await plain.sql(SCHEMA, [], db);
      const cfg = await writeConfigFor(dir, `walrep-${n}.yml`, { cluster: older }, { cluster: plain }, [db]);
      const env = envFor(older, plain);
      for (const args of [['start', db], ['wait', db, '--timeout', '60s']]) {
        const r = await runCli(['-c', cfg, '--yes', ...args], { env, timeoutMs: 90_000 });
        assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      }
      const before = await snapshots(older, plain);
      await refused(cfg, ['switchover', db, '--pause', 'revoke'], env, {
        code: 1, errorCode: 'switchover_preflight', message: /reverse replication needs wal_level = logical on the target \(it is replica\)/,
      });
      assert.deepEqual(await snapshots(older, plain), before, 'a refused switchover changed a cluster');
      const cleanup = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env });
      assert.equal(cleanup.code, 0, cleanup.stderr);
    } finally {
      await plain.destroy();
    }
  });

  test('missing privileges: refused before the publication is made, on either side', async () => {
    const role = `weak ${process.pid}`;
    const appRole = `app ${process.pid}`;
    for (const c of [older, newer]) await c.sql(`CREATE ROLE ${qi(role)} LOGIN PASSWORD ${quoteLiteral(WEAK_PASSWORD)}`);
    // A role only the source has: "roles" would have to create it on the target.
    await older.sql(`CREATE ROLE ${qi(appRole)} NOLOGIN`);
    try {
      const db = await sourceDb(older, 'priv');
      await newer.createDatabase(db);
      await newer.sql(SCHEMA, [], db);
      // The weak role may connect and read, nothing more: no REPLICATION, owns no table, no CREATE.
      for (const c of [older, newer]) await c.sql(`REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${qi(role)}`, [], db);

      // Both sides weak.
      const weak = await writeConfigFor(dir, `weak-${n}.yml`, { cluster: older, user: role }, { cluster: newer, user: role }, [db]);
      const weakEnv = envFor(older, newer, WEAK_PASSWORD, WEAK_PASSWORD);
      const before = await snapshots(older, newer);
      await refused(weak, ['check'], weakEnv, { code: 1, message: /no REPLICATION attribute/ });
      await refused(weak, ['run', db], weakEnv, { code: 1, message: /no REPLICATION attribute/, errorCode: 'check_failed' });
      await refused(weak, ['start', db], weakEnv, {
        code: 1, errorCode: 'missing_privileges',
        message: new RegExp(`source role ${role} has no REPLICATION attribute.*does not own 2 table\\(s\\) to publish: public\\.accounts, public\\.notes.*target role ${role} cannot create subscriptions`),
      });
      await refused(weak, ['roles'], weakEnv, { code: 1, message: /permission denied|CREATEROLE|must be superuser|privilege/i });
      await refused(weak, ['switchover', db, '--pause', 'revoke'], weakEnv, { code: 1, message: /no forward subscription/ });
      assert.deepEqual(await snapshots(older, newer), before, 'a refused command changed a cluster');

      // A superuser on the source and a weak role on the target: the publication
      // could be made, the subscription not. Nothing may be left on the source.
      const half = await writeConfigFor(dir, `half-${n}.yml`, { cluster: older }, { cluster: newer, user: role }, [db]);
      const halfEnv = envFor(older, newer, older.password, WEAK_PASSWORD);
      await refused(half, ['start', db], halfEnv, {
        code: 1, errorCode: 'missing_privileges', message: new RegExp(`target role ${role} cannot create subscriptions \\(needs a superuser or a member of pg_create_subscription\\)`),
      });
      await refused(half, ['start', db, '--copy', 'fast'], halfEnv, { code: 1, message: /cannot create subscriptions|permission denied|must be superuser/ });
      await refused(half, ['run', db], halfEnv, { code: 1, message: /cannot create subscriptions/, errorCode: 'check_failed' });
      assert.deepEqual(await snapshots(older, newer), before, 'a refused command changed a cluster');

      // A target role that may create subscriptions (pg_create_subscription, 16+) but not CREATE in the database.
      await newer.sql(`GRANT pg_create_subscription TO ${qi(role)}`);
      await newer.sql(`REVOKE CREATE ON DATABASE ${qi(db)} FROM PUBLIC`);
      const before3 = await snapshots(older, newer);
      await refused(half, ['start', db], halfEnv, { code: 1, errorCode: 'missing_privileges', message: new RegExp(`target role ${role} may not CREATE in database ${db}`) });
      assert.deepEqual(await snapshots(older, newer), before3, 'a refused command changed a cluster');
    } finally {
      for (const c of [older, newer]) await c.sql(`DROP OWNED BY ${qi(role)}; DROP ROLE ${qi(role)}`).catch(() => undefined);
      await older.sql(`DROP ROLE ${qi(appRole)}`).catch(() => undefined);
    }
  });
});
