// roles on real clusters (14 -> 18 by default), with hostile role names and a
// hostile password: attributes, settings, comments and memberships arrive,
// the copied password logs in on the target, the bootstrap superuser and
// existing roles are skipped and reported, a re-run changes nothing,
// --managed strips what managed services refuse, --no-passwords reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, qi, HOSTILE_NAMES } from '../helpers/harness.js';
import { quoteLiteral } from '../../src/pg/quote.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const [[FROM, TO]] = versionPairs([[14, 18]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

const ROLE_ATTRS_SQL = `
SELECT rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
       rolconnlimit, rolvaliduntil::text AS validuntil, rolconfig, shobj_description(oid, 'pg_authid') AS comment
  FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`;

const MEMBERS_SQL = `
SELECT r.rolname AS role, m.rolname AS member, bool_or(a.admin_option) AS admin
  FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member
 WHERE m.rolname = ANY($1) GROUP BY 1, 2 ORDER BY 1, 2`;

async function canLogin(c: EmbeddedCluster, user: string, password: string): Promise<boolean> {
  try {
    const client = await c.client('postgres', user, password);
    await client.end();
    return true;
  } catch {
    return false;
  }
}

// Role names are global to a cluster: each test uses its own suffix.
const tag = (name: string, t: string): string => `${name.slice(0, 50)} ${t}`;

test(`roles ${FROM}->${TO}: hostile names, attributes, password, memberships; bootstrap and existing skipped; re-run is a no-op`, async () => {
  const group = tag('Group; "admins"', 'a');
  const hostile = HOSTILE_NAMES.slice(0, 7).map((n) => tag(n, 'a'));
  const app = hostile[0]!; // 'Mixed Case a'
  const password = `p'w \\ @ % "x" ü`;
  const preexisting = tag('already there', 'a');
  const statements = [
    `CREATE ROLE ${qi(group)} NOLOGIN`,
    `COMMENT ON ROLE ${qi(group)} IS ${quoteLiteral("the 'admins'")}`,
    `CREATE ROLE ${qi(app)} LOGIN CREATEDB CONNECTION LIMIT 7 VALID UNTIL 'infinity' PASSWORD ${quoteLiteral(password)}`,
    `ALTER ROLE ${qi(app)} SET search_path TO app, "My Schema", public`,
    `ALTER ROLE ${qi(app)} SET work_mem TO '8MB'`,
    ...hostile.slice(1).map((n) => `CREATE ROLE ${qi(n)} LOGIN PASSWORD ${quoteLiteral(password)}`),
    `GRANT ${qi(group)} TO ${qi(app)} WITH ADMIN OPTION`,
    ...hostile.slice(1).map((n) => `GRANT ${qi(group)} TO ${qi(n)}`),
    `GRANT pg_read_all_stats TO ${qi(app)}`,
    `CREATE ROLE ${qi(preexisting)} LOGIN`,
  ];
  for (const s of statements) await pair.source.sql(s);
  await pair.target.sql(`CREATE ROLE ${qi(preexisting)} NOLOGIN`);
  const config = await pair.writeConfig([]);

  const r = await runCli(['-c', config, '--json', 'roles'], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes('SCRAM-SHA-256$') && !r.stderr.includes('SCRAM-SHA-256$'), 'password verifier printed');
  const report = JSON.parse(r.stdout);
  for (const n of [group, ...hostile]) assert.ok(report.created.includes(n), `not created: ${n}`);
  assert.ok(report.skippedExisting.includes(preexisting));
  assert.deepEqual(report.skippedBootstrap, ['postgres']);
  assert.ok(!report.created.includes('postgres'));
  assert.equal(report.withoutPassword.includes(app), false);
  assert.ok(report.memberships >= hostile.length + 1);

  const names = [group, ...hostile];
  assert.deepEqual(await pair.target.sql(ROLE_ATTRS_SQL, [names]), await pair.source.sql(ROLE_ATTRS_SQL, [names]));
  assert.deepEqual(await pair.target.sql(MEMBERS_SQL, [names]), await pair.source.sql(MEMBERS_SQL, [names]));
  const [cfg] = await pair.target.sql<{ rolconfig: string[] }>('SELECT rolconfig FROM pg_roles WHERE rolname = $1', [app]);
  assert.deepEqual(cfg!.rolconfig.sort(), ['search_path=app, "My Schema", public', 'work_mem=8MB']);
  // The existing role was left alone (still NOLOGIN on the target).
  const [pre] = await pair.target.sql<{ rolcanlogin: boolean }>('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [preexisting]);
  assert.equal(pre!.rolcanlogin, false);

  for (const n of hostile) assert.ok(await canLogin(pair.target, n, password), `${n} cannot log in on the target with its source password`);
  assert.equal(await canLogin(pair.target, app, 'wrong'), false);

  const again = await runCli(['-c', config, '--json', 'roles'], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  const second = JSON.parse(again.stdout);
  assert.deepEqual(second.created, []);
  assert.equal(second.memberships, 0);
  for (const n of names) assert.ok(second.skippedExisting.includes(n));
  assert.deepEqual(await pair.target.sql(MEMBERS_SQL, [names]), await pair.source.sql(MEMBERS_SQL, [names]));
});

test('roles --managed strips SUPERUSER, REPLICATION, BYPASSRLS; --no-passwords reports login roles left without one', async () => {
  const admin = tag('Über admin; "x"', 'b');
  const repl = tag('replicator', 'b');
  const group = tag('readers', 'b');
  await pair.source.sql(`CREATE ROLE ${qi(admin)} SUPERUSER LOGIN PASSWORD 'secret one'`);
  await pair.source.sql(`CREATE ROLE ${qi(repl)} REPLICATION BYPASSRLS LOGIN PASSWORD 'secret two'`);
  await pair.source.sql(`CREATE ROLE ${qi(group)} NOLOGIN`);
  const config = await pair.writeConfig([]);

  const r = await runCli(['-c', config, '--json', 'roles', '--managed', '--no-passwords'], { env: pair.env() });
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.deepEqual(report.strippedAttributes[admin], ['SUPERUSER']);
  assert.deepEqual(report.strippedAttributes[repl], ['REPLICATION', 'BYPASSRLS']);
  assert.ok(report.withoutPassword.includes(admin));
  assert.ok(report.withoutPassword.includes(repl));
  assert.ok(!report.withoutPassword.includes(group), 'a NOLOGIN role needs no password');
  const rows = await pair.target.sql<{ rolname: string; rolsuper: boolean; rolreplication: boolean; rolbypassrls: boolean; rolcanlogin: boolean; haspw: boolean }>(
    `SELECT rolname, rolsuper, rolreplication, rolbypassrls, rolcanlogin, rolpassword IS NOT NULL AS haspw
       FROM pg_authid WHERE rolname = ANY($1) ORDER BY rolname`, [[admin, repl]]);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.rolsuper, false);
    assert.equal(row.rolreplication, false);
    assert.equal(row.rolbypassrls, false);
    assert.equal(row.rolcanlogin, true);
    assert.equal(row.haspw, false);
  }

  const human = await runCli(['-c', config, 'roles'], { env: pair.env() });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stderr, /created 0 role\(s\)/);
  assert.match(human.stderr, /already on the target/);
});
