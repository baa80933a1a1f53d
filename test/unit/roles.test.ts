import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRoles, splitSettingList, roleSettingSql, createRoleSql, grantRoleSql, type SourceRole } from '../../src/steps/roles.js';

function role(name: string, over: Partial<SourceRole> = {}): SourceRole {
  return {
    name, bootstrap: false, predefined: false, superuser: false, inherit: true, createrole: false, createdb: false,
    login: false, replication: false, bypassrls: false, connlimit: -1, validUntil: null, config: [], comment: null, ...over,
  };
}

test('planRoles skips bootstrap, pg_* and existing roles, strips managed attributes, reports passwordless logins', () => {
  const plan = planRoles({
    roles: [
      role('postgres', { bootstrap: true, superuser: true, login: true }),
      role('pg_monitor', { predefined: true }),
      role('exists'),
      role('boss', { superuser: true, replication: true, login: true, password: 'SCRAM-SHA-256$4096:abc' }),
      role('app "x"', { login: true }),
    ],
    memberships: [
      { role: 'pg_monitor', member: 'boss', admin: false, inherit: true, set: true },
      { role: 'exists', member: 'app "x"', admin: true, inherit: true, set: true },
      { role: 'exists', member: 'postgres', admin: false, inherit: true, set: true },
      { role: 'gone', member: 'boss', admin: false, inherit: true, set: true },
      { role: 'exists', member: 'boss', admin: false, inherit: true, set: true },
    ],
    targetRoles: new Set(['postgres', 'pg_monitor', 'exists']),
    targetMemberships: new Set([JSON.stringify(['exists', 'boss'])]),
    managed: true,
    grantOptions: false,
  });
  assert.deepEqual(plan.report.created, ['boss', 'app "x"']);
  assert.deepEqual(plan.report.skippedExisting, ['exists']);
  assert.deepEqual(plan.report.skippedBootstrap, ['postgres']);
  assert.deepEqual(plan.report.strippedAttributes, { boss: ['SUPERUSER', 'REPLICATION'] });
  assert.deepEqual(plan.report.withoutPassword, ['app "x"']);
  assert.equal(plan.report.memberships, 2);
  assert.deepEqual(plan.report.skippedMemberships, ['gone -> boss']);
  const sql = plan.statements.map((s) => s.sql);
  assert.ok(sql.includes('GRANT "pg_monitor" TO "boss"'));
  assert.ok(sql.includes('GRANT "exists" TO "app ""x""" WITH ADMIN OPTION'));
  assert.match(sql[0]!, /^CREATE ROLE "boss" WITH NOSUPERUSER .* LOGIN NOREPLICATION .*PASSWORD 'SCRAM-SHA-256\$4096:abc'$/);
  assert.ok(!plan.statements[0]!.display.includes('abc'), 'the display form masks the verifier');
});

test('role statements quote names, literals and list settings', () => {
  assert.equal(
    createRoleSql(role("it's; \"x\"", { login: true, connlimit: 3, validUntil: '2030-01-01T00:00:00+00:00', password: "a'b\\c" }), []),
    `CREATE ROLE "it's; ""x""" WITH NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 3 PASSWORD E'a''b\\\\c' VALID UNTIL '2030-01-01T00:00:00+00:00'`);
  assert.deepEqual(splitSettingList('app, "My ""Schema""", public'), ['app', 'My "Schema"', 'public']);
  assert.equal(roleSettingSql('r', 'search_path=app, "My Schema"'), `ALTER ROLE "r" SET "search_path" TO 'app', 'My Schema'`);
  assert.equal(roleSettingSql('r', "statement_timeout=5s"), `ALTER ROLE "r" SET "statement_timeout" TO '5s'`);
  assert.equal(grantRoleSql({ role: 'g', member: 'm', admin: false, inherit: false, set: true }, true), 'GRANT "g" TO "m" WITH ADMIN FALSE, INHERIT FALSE, SET TRUE');
});
