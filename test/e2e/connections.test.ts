// Connections resolved the way libpq resolves them, on real clusters: a
// config naming only services, with every password in a password file, runs
// the whole pipeline (pgshift's own connections, pg_dump's, and the target
// server's subscription) and replicates; an unknown keyword is a usage error
// naming it; connection errors name the host and port actually used (here
// taken from PGPORT) and say when the password came from the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import { EXIT } from '../../src/errors.js';

const [[FROM, TO]] = versionPairs([[16, 17]]) as [[number, number]];
const ROLE = 'svc admin';
// Characters a password file must escape (":" and "\"), and a space.
const PASSWORD = 'pw:with\\colon and space';

let pair: Pair;
let serviceFile: string;
let passFile: string;

const escapePgpass = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

before(async () => {
  pair = await Pair.start(FROM, TO);
  for (const c of [pair.source, pair.target]) {
    await c.sql(`CREATE ROLE "svc admin" SUPERUSER LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  }
  serviceFile = join(pair.dir, 'pg_service.conf');
  writeFileSync(serviceFile, [
    '# services pgshift resolves itself (libpq syntax)',
    '[pgshift-src]',
    `host=${pair.source.host}`,
    `port=${pair.source.port}`,
    `user=${ROLE}`,
    '[pgshift-tgt]',
    `host=${pair.target.host}`,
    `port=${pair.target.port}`,
    `user=${ROLE}`,
  ].join('\n') + '\n');
  passFile = join(pair.dir, 'pgpass');
  writeFileSync(passFile, [
    '# hostname:port:database:username:password',
    `${pair.source.host}:${pair.source.port}:*:${ROLE}:${escapePgpass(PASSWORD)}`,
    `${pair.target.host}:${pair.target.port}:*:${ROLE}:${escapePgpass(PASSWORD)}`,
  ].join('\n') + '\n');
  chmodSync(passFile, 0o600);
});

after(async () => {
  await pair?.stop();
});

async function writeServiceConfig(db: string, name: string, sourceConn = 'service=pgshift-src'): Promise<string> {
  const [ss, ts] = await Promise.all([pair.source.systemIdentifier(), pair.target.systemIdentifier()]);
  const path = join(pair.dir, name);
  writeFileSync(path, `source:\n  conn: "${sourceConn}"\n  system_identifier: "${ss}"\ntarget:\n  conn: "service=pgshift-tgt"\n  system_identifier: "${ts}"\ndatabases:\n  ${JSON.stringify(db)}: {}\n`);
  return path;
}

/** The environment a user with a service file and a password file has; no PGSHIFT_*_PASSWORD. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PGSERVICEFILE: serviceFile, PGPASSFILE: passFile, PGSHIFT_SOURCE_PASSWORD: '', PGSHIFT_TARGET_PASSWORD: '', ...extra };
}

test('a config of services and a password file: check, run (pg_dump included) and the subscription all connect', async () => {
  const db = await pair.freshDatabase('svc');
  await pair.source.sql('CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g', [], db);
  const cfg = await writeServiceConfig(db, 'svc.yml');
  const check = await runCli(['-c', cfg, 'check', db], { env: userEnv() });
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stderr, new RegExp(`role ${ROLE}`));
  const run = await runCli(['-c', cfg, 'run', db, '--timeout', '120s'], { env: userEnv(), timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(!run.stderr.includes(PASSWORD), 'the password from the file was printed');
  // The target server cannot read pgshift's password file nor its service file:
  // its subscription carries the resolved host, port, user and the password.
  const [sub] = await pair.target.sql<{ conninfo: string }>('SELECT subconninfo AS conninfo FROM pg_subscription WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = $1)', [db]);
  assert.ok(sub, 'no subscription on the target');
  assert.doesNotMatch(sub.conninfo, /service=/);
  assert.match(sub.conninfo, new RegExp(`port='${pair.source.port}'`));
  assert.match(sub.conninfo, /user='svc admin'/);
  // Streaming works: a row written now arrives.
  await pair.source.sql("INSERT INTO items VALUES (501, 'late')", [], db);
  const wait = await runCli(['-c', cfg, 'wait', db, '--timeout', '120s'], { env: userEnv() });
  assert.equal(wait.code, 0, wait.stderr);
  const [n] = await pair.target.sql<{ n: string }>('SELECT count(*)::text AS n FROM items', [], db);
  assert.equal(n!.n, '501');
  const clean = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: userEnv() });
  assert.equal(clean.code, 0, clean.stderr);
});

test('an unknown keyword is a usage error naming it, before any connection', async () => {
  const db = await pair.freshDatabase('kw');
  const cfg = await writeServiceConfig(db, 'kw.yml', `hots=${pair.source.host} port=${pair.source.port}`);
  const r = await runCli(['-c', cfg, 'check'], { env: userEnv() });
  assert.equal(r.code, EXIT.usage, r.stderr);
  assert.match(r.stderr, /source\.conn: not a valid libpq connection string: invalid connection option "hots" \(did you mean "host"\?\)/);
});

test('connection errors name the host and port actually used, and a password that came from the file', async () => {
  const db = await pair.freshDatabase('err');
  // A port nothing listens on, given only through PGPORT.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const cfg = await writeServiceConfig(db, 'err.yml', `host=127.0.0.1 user=nobody connect_timeout=3`);
  const down = await runCli(['-c', cfg, 'check'], { env: userEnv({ PGPORT: String(port) }) });
  assert.equal(down.code, EXIT.connect, down.stderr);
  assert.match(down.stderr, new RegExp(`source \\(nobody@127\\.0\\.0\\.1:${port}/postgres\\): cannot connect: ECONNREFUSED`));
  // A wrong password in the file: the error says where it came from.
  const wrong = join(pair.dir, 'pgpass-wrong');
  writeFileSync(wrong, `*:*:*:${ROLE}:not-it\n`, { mode: 0o600 });
  const bad = await runCli(['-c', await writeServiceConfig(db, 'bad.yml'), 'check'], { env: userEnv({ PGPASSFILE: wrong }) });
  assert.equal(bad.code, EXIT.connect, bad.stderr);
  assert.match(bad.stderr, /password authentication failed \(password retrieved from file ".*pgpass-wrong"\)/);
  // A password file others can read is ignored, as libpq ignores it, and the hint says so.
  const open = join(pair.dir, 'pgpass-open');
  writeFileSync(open, `*:*:*:${ROLE}:${escapePgpass(PASSWORD)}\n`);
  chmodSync(open, 0o644);
  const ignored = await runCli(['-c', await writeServiceConfig(db, 'open.yml'), 'check'], { env: userEnv({ PGPASSFILE: open }) });
  assert.equal(ignored.code, EXIT.connect, ignored.stderr);
  assert.match(ignored.stderr, /has group or world access; permissions should be u=rw \(0600\) or less, so it was ignored/);
});
