// Connection resolution with libpq's rules, no server: precedence of the
// string, the service file and the environment; the password file's matching;
// what pgshift refuses; what a child process and a subscription receive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  conninfoEnv, lookupPgpass, parseConninfo, parseLibpqConninfo, pgpassSecrets, resolveConninfo, unsupportedForPgshift,
  ConninfoSyntaxError, DEFAULT_SOCKET_DIR,
} from '../../src/config/conninfo.js';
import { parseConfig, type Config } from '../../src/config/config.js';
import { ConfigError, EXIT } from '../../src/errors.js';
import { toolEnv } from '../../src/pg/tools.js';
import { subscriptionConninfo } from '../../src/replication/subscription.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-conninfo-'));
let n = 0;
function file(text: string, mode = 0o600): string {
  const p = join(dir, `f${++n}`);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
}
const base = { osUser: 'osuser', home: join(dir, 'no-home') };

test('an unknown keyword is refused by name, with the nearest real one', () => {
  assert.throws(() => parseLibpqConninfo('hots=db1 port=5432'), (e: Error) =>
    e instanceof ConninfoSyntaxError && /invalid connection option "hots" \(did you mean "host"\?\)/.test(e.message));
  assert.throws(() => parseLibpqConninfo('postgresql://db1/app?sslmod=require'), /invalid connection option "sslmod"/);
  // In a config it is a config error (exit 2) naming the key path; nothing is connected.
  const yml = (conn: string): string => `source: {conn: "${conn}", system_identifier: "1"}\ntarget: {conn: "host=t", system_identifier: "2"}\n`;
  assert.throws(() => parseConfig(yml('hots=db1'), 'p.yml', {}), (e: Error) =>
    e instanceof ConfigError && e.exitCode === EXIT.usage && /source\.conn: .*invalid connection option "hots"/.test(e.message));
});

test('URIs: %XX decoded, "+" kept, ssl=true is sslmode=require (libpq\'s JDBC compatibility)', () => {
  assert.deepEqual(parseConninfo('postgres://u@h/d?application_name=a+b%20c&ssl=true'),
    { user: 'u', host: 'h', dbname: 'd', application_name: 'a+b c', sslmode: 'require' });
});

test('precedence: the string, then the service, then the environment, then the defaults', () => {
  const services = file('# comment\n[other]\nhost=wrong\n[app]\nhost=svc-host\nport=6000\ndbname=svc-db\n  sslmode=require  \n[later]\nuser=wrong\n');
  const env = { PGSERVICEFILE: services, PGHOST: 'env-host', PGPORT: '7000', PGUSER: 'env-user', PGDATABASE: 'env-db', PGSSLMODE: 'disable', PGSSLROOTCERT: '/ca.pem' };
  const r = resolveConninfo(parseConninfo('service=app port=5555'), { ...base, env });
  assert.deepEqual(r, {
    port: '5555', // the string beats the service
    host: 'svc-host', dbname: 'svc-db', sslmode: 'require', // the service beats the environment
    user: 'env-user', sslrootcert: '/ca.pem', // the environment fills the rest
  });
  // PGSERVICE names the service when the string does not.
  assert.equal(resolveConninfo({}, { ...base, env: { ...env, PGSERVICE: 'app' } }).host, 'svc-host');
  // Without a service: environment, then libpq's defaults.
  assert.deepEqual(resolveConninfo({}, { ...base, env: { PGDATABASE: 'd', PGSSLKEY: '/k', PGSSLCERT: '/c', PGPASSWORD: 'pw' } }), {
    dbname: 'd', sslkey: '/k', sslcert: '/c', password: 'pw', port: '5432', host: resolveConninfo({}, { ...base, env: {} }).host, user: 'osuser',
  });
  assert.ok([DEFAULT_SOCKET_DIR, '/tmp'].includes(resolveConninfo({}, { ...base, env: {} }).host!));
  // hostaddr alone: no default host is added.
  assert.equal(resolveConninfo({ hostaddr: '10.0.0.1' }, { ...base, env: {} }).host, undefined);
  // Resolving twice changes nothing.
  assert.deepEqual(resolveConninfo(r, { ...base, env }), r);
});

test('service files: the per-user file first, then PGSYSCONFDIR/pg_service.conf; errors name file and line', () => {
  const home = mkdtempSync(join(dir, 'home-'));
  const sysconf = mkdtempSync(join(dir, 'etc-'));
  writeFileSync(join(home, '.pg_service.conf'), '[mine]\nhost=from-home\n');
  writeFileSync(join(sysconf, 'pg_service.conf'), '[mine]\nhost=from-system\n[shared]\nhost=shared-host\nport=6543\n');
  const opts = { osUser: 'u', home, env: { PGSYSCONFDIR: sysconf } };
  assert.equal(resolveConninfo({ service: 'mine' }, opts).host, 'from-home');
  assert.deepEqual([resolveConninfo({ service: 'shared' }, opts).host, resolveConninfo({ service: 'shared' }, opts).port], ['shared-host', '6543']);
  assert.throws(() => resolveConninfo({ service: 'nope' }, opts), /definition of service "nope" not found/);
  assert.throws(() => resolveConninfo({ service: 'x' }, { ...opts, env: { PGSERVICEFILE: join(dir, 'missing') } }), /service file ".*missing" not found/);
  const bad = file('[x]\nhost=a\nno equals here\n');
  assert.throws(() => resolveConninfo({ service: 'x', servicefile: bad }, opts), /syntax error in service file ".*", line 3/);
  const nested = file('[x]\nservice=y\n');
  assert.throws(() => resolveConninfo({ service: 'x', servicefile: nested }, opts), /nested service specifications not supported in service file ".*", line 2/);
  const unknown = file('[x]\nhots=a\n');
  assert.throws(() => resolveConninfo({ service: 'x', servicefile: unknown }, opts), /syntax error in service file ".*", line 2 \(unknown keyword "hots"\)/);
  // In a config: exit 2, the key path named.
  const yml = `source: {conn: "service=nope", system_identifier: "1"}\ntarget: {conn: "host=t", system_identifier: "2"}\n`;
  assert.throws(() => parseConfig(yml, 'p.yml', { HOME: home, PGSYSCONFDIR: sysconf }), /source\.conn: definition of service "nope" not found/);
});

test('pgshift refuses multi-host lists and requirements it cannot enforce, as config errors', () => {
  assert.match(unsupportedForPgshift({ host: 'a,b', port: '5432' })!, /host lists several servers \(a,b\)/);
  assert.match(unsupportedForPgshift({ host: 'a', port: '5432,5433' })!, /port lists several servers/);
  assert.match(unsupportedForPgshift({ host: 'a', require_auth: 'scram-sha-256' })!, /require_auth=scram-sha-256 is not supported/);
  assert.equal(unsupportedForPgshift({ host: 'a', channel_binding: 'prefer', gssencmode: 'prefer' }), undefined);
  const yml = `source: {conn: "postgresql://a:5432,b:5433/x", system_identifier: "1"}\ntarget: {conn: "host=t", system_identifier: "2"}\n`;
  assert.throws(() => parseConfig(yml, 'p.yml', {}), (e: Error) => e instanceof ConfigError && /source\.conn: host lists several servers/.test(e.message));
});

test('pgpass: libpq\'s matching, wildcards, escapes, comments, first match wins', () => {
  const pg = file([
    '# a comment:with:colons:and:pw',
    'db1:5432:app:alice:first',
    'db1:5432:app:alice:second (never reached)',
    'db1:*:*:bob:star\\:colon\\\\back',
    'localhost:5433:app:carol:via-socket',
    'we\\:ird:5432:app:dave:escaped-host',
    '*:*:*:*:catch-all',
  ].join('\n'));
  const pw = (t: Parameters<typeof lookupPgpass>[1]): string | undefined => lookupPgpass(pg, t).password;
  assert.equal(pw({ host: 'db1', port: '5432', dbname: 'app', user: 'alice' }), 'first');
  assert.equal(pw({ host: 'db1', dbname: 'app', user: 'alice' }), 'first', 'port defaults to 5432');
  assert.equal(pw({ host: 'db1', port: '6000', dbname: 'other', user: 'bob' }), 'star:colon\\back');
  assert.equal(pw({ host: DEFAULT_SOCKET_DIR, port: '5433', dbname: 'app', user: 'carol' }), 'via-socket', 'the default socket directory matches localhost');
  assert.equal(pw({ port: '5433', dbname: 'app', user: 'carol' }), 'via-socket', 'no host matches localhost');
  assert.equal(pw({ host: 'we:ird', dbname: 'app', user: 'dave' }), 'escaped-host');
  assert.equal(pw({ hostaddr: '10.1.1.1', dbname: 'x', user: 'y' }), 'catch-all', 'hostaddr when there is no host');
  assert.equal(pw({ host: 'db1', dbname: '', user: 'alice' }), undefined, 'no database, no lookup');
  assert.deepEqual(pgpassSecrets({ host: 'db1', port: '5432', user: 'alice' }).length, 0, 'not this file');
  assert.deepEqual(pgpassSecrets({ host: 'db1', port: '5432', user: 'alice', passfile: pg }), ['first', 'second (never reached)', 'catch-all']);
});

test('pgpass: a file others can read, or not a plain file, is ignored with libpq\'s warning', () => {
  const open = file('*:*:*:*:secret', 0o644);
  const r = lookupPgpass(open, { host: 'h', dbname: 'd', user: 'u' });
  assert.equal(r.password, undefined);
  assert.match(r.warning!, /password file ".*" has group or world access; permissions should be u=rw \(0600\) or less/);
  const d = join(dir, 'a-directory');
  mkdirSync(d);
  assert.match(lookupPgpass(d, { host: 'h', dbname: 'd', user: 'u' }).warning!, /is not a plain file/);
  assert.deepEqual(lookupPgpass(join(dir, 'absent'), { host: 'h', dbname: 'd', user: 'u' }), { file: join(dir, 'absent') });
});

test('a child process gets the resolved connection in its environment, never the service, and the pgpass password', () => {
  const pass = file('child-host:5432:db:me:from-pgpass\n');
  const services = file('[s]\nhost=child-host\nuser=me\n');
  const saved = { ...process.env };
  try {
    Object.assign(process.env, { PGSERVICEFILE: services, PGPASSFILE: pass, PGSSLMODE: 'require', PGAPPNAME: 'leaked?', PGTZ: 'UTC' });
    const env = toolEnv({ service: 's', dbname: 'db' }, undefined);
    assert.equal(env.PGHOST, 'child-host');
    assert.equal(env.PGUSER, 'me');
    assert.equal(env.PGDATABASE, 'db');
    assert.equal(env.PGSSLMODE, 'require');
    assert.equal(env.PGPASSWORD, 'from-pgpass');
    assert.equal(env.PGPASSFILE, pass);
    assert.equal(env.PGSERVICE, undefined);
    assert.equal(env.PGSERVICEFILE, undefined);
    assert.equal(env.PGTZ, undefined, 'PG* variables of the caller do not leak through');
    assert.equal(env.PGAPPNAME, 'leaked?', 'a libpq keyword from the environment is part of the resolution');
    assert.equal(toolEnv({ service: 's', dbname: 'db' }, 'configured').PGPASSWORD, 'configured');
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  assert.deepEqual(conninfoEnv({ service: 's', host: 'h', sslcrl: '/crl' }), { PGHOST: 'h', PGSSLCRL: '/crl' });
});

test('the subscription gets what pgshift resolved: env-derived host and TLS, and the pgpass password for that database', () => {
  const pass = file('src-host:5432:appdb:rep:pgpass-pw\n');
  const yml = `source: {conn: "user=rep", system_identifier: "1"}\ntarget: {conn: "host=t", system_identifier: "2"}\n`;
  const config: Config = parseConfig(yml, 'p.yml', { PGHOST: 'src-host', PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.pem', PGPASSFILE: pass, HOME: dir });
  const c = subscriptionConninfo(config, 'appdb');
  const p = parseConninfo(c.conninfo);
  assert.equal(p.host, 'src-host');
  assert.equal(p.port, '5432');
  assert.equal(p.user, 'rep');
  assert.equal(p.dbname, 'appdb');
  assert.equal(p.sslmode, 'verify-full');
  assert.equal(p.sslrootcert, '/ca.pem');
  assert.equal(p.password, 'pgpass-pw');
  assert.equal(p.service, undefined);
  // Another database has no line: no password.
  assert.equal(subscriptionConninfo(config, 'other').hasPassword, false);
});
