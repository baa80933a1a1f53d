import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { parseConninfo, formatConninfo, redactConninfo, conninfoEnv } from '../../src/config/conninfo.js';

const GOOD = `
source:
  conn: "host=10.0.0.5 port=5432 user=postgres dbname=postgres"
  password: \${SRC_PW}
  system_identifier: 7301234567890123456
  conn_from_target: "host=old-db.internal port=5432 user=replicator"
target:
  conn: "postgres://postgres@10.0.0.6:5433/postgres"
  system_identifier: "7309876543210987654"
databases:
  app: {}
  shop:
    exclude: [public.spatial_ref_sys]
switchover:
  pause: pgbouncer
  max_pause: 5s
  reverse: true
  pgbouncer:
    admin: "host=127.0.0.1 port=6432 user=pgbouncer dbname=pgbouncer"
    config: /etc/pgbouncer/pgbouncer.ini
`;

function configError(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(text, '/x/pgshift.yml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a ConfigError');
}

test('a full config parses; 64-bit identifiers keep every digit; ${VAR} expands', () => {
  const c = parseConfig(GOOD, 'pgshift.yml', { SRC_PW: "p'w \\@%" });
  assert.equal(c.source.systemIdentifier, '7301234567890123456');
  assert.equal(c.target.systemIdentifier, '7309876543210987654');
  assert.equal(c.source.password, "p'w \\@%");
  assert.equal(c.source.conn.host, '10.0.0.5');
  assert.equal(c.target.conn.port, '5433');
  assert.equal(c.source.connFromPeer?.user, 'replicator');
  assert.deepEqual([...c.databases.keys()], ['app', 'shop']);
  assert.deepEqual(c.databases.get('shop')!.exclude, ['public.spatial_ref_sys']);
  assert.equal(c.switchover.pause, 'pgbouncer');
  assert.equal(c.switchover.maxPauseMs, 5000);
  assert.equal(c.switchover.pgbouncer?.admin.port, '6432');
});

test('an unset ${VAR} in a password means no password; elsewhere it is an error naming the key', () => {
  const c = parseConfig(GOOD, 'pgshift.yml', {});
  assert.equal(c.source.password, undefined);
  const e = configError(GOOD.replace('host=10.0.0.5', 'host=${DB_HOST}'));
  assert.match(e.message, /^pgshift\.yml: source\.conn: environment variable DB_HOST is not set/);
});

test('a missing system_identifier says to run init', () => {
  const e = configError(GOOD.replace('  system_identifier: 7301234567890123456\n', ''));
  assert.equal(e.message, 'pgshift.yml: source.system_identifier: required (run "pgshift init" to fill it in)');
  assert.equal(e.exitCode, 2);
});

test('malformed YAML, wrong types, unknown keys and bad values name the place', () => {
  assert.match(configError('source: [\n').message, /^pgshift\.yml: line \d+ column \d+: not valid YAML/);
  assert.match(configError('').message, /the file is empty/);
  assert.match(configError(GOOD.replace('pause: pgbouncer', 'pause: sometimes')).message, /switchover\.pause: expected one of pgbouncer \| revoke/);
  assert.match(configError(GOOD.replace('max_pause: 5s', 'max_pause: soon')).message, /switchover\.max_pause: expected a duration/);
  assert.match(configError(GOOD.replace('databases:', 'databasez:')).message, /databasez: unknown key/);
  assert.match(configError(GOOD.replace('system_identifier: "7309876543210987654"', 'system_identifier: "abc"')).message, /target\.system_identifier: expected the cluster's numeric system identifier/);
  assert.match(configError(GOOD.replace('"7309876543210987654"', '"7301234567890123456"')).message, /same as source\.system_identifier/);
  assert.match(configError(GOOD.replace('conn: "host=10.0.0.5 port=5432 user=postgres dbname=postgres"', "conn: \"host='unterminated\"")).message, /source\.conn: not a valid libpq connection string/);
  assert.match(configError(GOOD.replace('  pgbouncer:\n    admin: "host=127.0.0.1 port=6432 user=pgbouncer dbname=pgbouncer"\n    config: /etc/pgbouncer/pgbouncer.ini\n', '')).message, /switchover\.pgbouncer: required/);
});

test('a password in conn is moved out of the connection parameters', () => {
  const c = parseConfig(GOOD.replace('postgres://postgres@10.0.0.6', 'postgres://postgres:s%40cr%20t@10.0.0.6'), 'x.yml', {});
  assert.equal(c.target.password, 's@cr t');
  assert.equal(c.target.conn.password, undefined);
});

test('conninfo: key=value with quotes and escapes, URIs with percent-encoding', () => {
  assert.deepEqual(parseConninfo("host=a port=5 password='it\\'s a \\\\ pw' dbname = x"), { host: 'a', port: '5', password: "it's a \\ pw", dbname: 'x' });
  assert.deepEqual(parseConninfo('postgresql://u%40x:p%25w@[::1]:6543/my%20db?sslmode=require&application_name=a+b'), {
    user: 'u@x', password: 'p%w', host: '::1', port: '6543', dbname: 'my db', sslmode: 'require', application_name: 'a+b', // libpq decodes %XX only
  });
  const round = { host: 'h', password: "' \\ @ % x" };
  assert.deepEqual(parseConninfo(formatConninfo(round)), round);
  assert.doesNotMatch(redactConninfo(round), /@ %/);
  assert.equal(conninfoEnv(round).PGPASSWORD, "' \\ @ % x");
});
