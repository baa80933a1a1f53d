// Passwords never leak (13 -> 17, both clusters with log_statement = all,
// log_min_duration_statement = 0 and pg_stat_statements): a whole flow, plus
// commands that fail (a wrong system_identifier, a refused switchover, a
// CREATE SUBSCRIPTION the target cannot connect with), and the password is
// in none of: stdout, stderr, --json documents, any file in the config dir,
// the CLI's working and temporary directories, either server's log,
// pg_stat_statements, or the argument list of any client tool pgshift ran.
// The one place it does live is pg_subscription.subconninfo on the target
// (PostgreSQL's design), and a passfile in conn_from_target keeps it out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pair, runCli, versionPairs, type CliResult } from '../helpers/harness.js';
import { LOG_EVERYTHING, filesHolding, holding, leakForms, logEntries, setPassword } from './server-log.js';

const [[FROM, TO]] = versionPairs([[13, 17]]) as [[number, number]];
// Distinctive markers first: any encoding of the password keeps them.
const SOURCE_PASSWORD = `Zq9srcSECRET ' \\ @ % "q" = ü 表 :/?#&+ end`;
const TARGET_PASSWORD = `Zq9tgtSECRET ' \\ @ % "q" = ü 表 :/?#&+ end`;
const NEEDLES = ['Zq9srcSECRET', 'Zq9tgtSECRET', ...leakForms(SOURCE_PASSWORD), ...leakForms(TARGET_PASSWORD)];

let pair: Pair;
let work: string;
let tmp: string;
let shims: string;
let argvLog: string;
const outputs: { what: string; r: CliResult }[] = [];

/** Client-tool shims that record their argv, then exec the real tool. */
function makeShims(): void {
  const base = '/usr/lib/postgresql';
  const majors = readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const tool of ['pg_dump', 'pg_dumpall', 'pg_restore', 'psql', 'pgbench']) {
    const real = majors.map((m) => join(base, m, 'bin', tool)).find((p) => existsSync(p));
    if (!real) continue;
    writeFileSync(join(shims, tool), `#!/bin/sh\nprintf '%s\\n' "$0 $*" >> '${argvLog}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
}

function cliEnv(): Record<string, string> {
  return { ...pair.env(), PGSHIFT_PG_BINDIR: shims, TMPDIR: tmp };
}

async function cli(what: string, args: string[], expectCode: number | null = 0): Promise<CliResult> {
  const r = await runCli(args, { env: cliEnv(), cwd: work, timeoutMs: 120_000 });
  outputs.push({ what, r });
  if (expectCode !== null) assert.equal(r.code, expectCode, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r;
}

before(async () => {
  pair = await Pair.start(FROM, TO, { settings: { ...LOG_EVERYTHING, shared_preload_libraries: 'pg_stat_statements' } });
  for (const c of [pair.source, pair.target]) await c.sql('CREATE EXTENSION pg_stat_statements');
  await setPassword(pair.source, pair.source.superuser, SOURCE_PASSWORD);
  await setPassword(pair.target, pair.target.superuser, TARGET_PASSWORD);
  work = mkdtempSync(join(tmpdir(), 'pgshift-secrets-work-'));
  tmp = mkdtempSync(join(tmpdir(), 'pgshift-secrets-tmp-'));
  shims = mkdtempSync(join(tmpdir(), 'pgshift-secrets-shims-'));
  argvLog = join(shims, 'argv.log');
  makeShims();
});
after(async () => {
  await pair?.stop();
  for (const d of [work, tmp, shims]) if (d) rmSync(d, { recursive: true, force: true });
});

const TABLE_SQL = [
  'CREATE TABLE items (id int PRIMARY KEY, v text)',
  'CREATE TABLE events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), note text)',
  "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 500) g",
  "INSERT INTO events (note) SELECT 'e' || g FROM generate_series(1, 200) g",
];

test(`secrets ${FROM}->${TO}: a whole flow and failing commands leak the password nowhere`, async () => {
  const db = await pair.freshDatabase('secret');
  for (const s of TABLE_SQL) await pair.source.sql(s, [], db);
  const config = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n  max_pause: 10s\n');

  await cli('check', ['-c', config, 'check', db]);
  await cli('roles', ['-c', config, '--yes', 'roles']);
  await cli('schema', ['-c', config, '--yes', 'schema', db]);
  const start = await cli('start', ['-c', config, '--yes', 'start', db]);
  assert.match(start.stderr, /pg_subscription/, 'start says where the subscription password lives');
  // PostgreSQL keeps a subscription's conninfo, password included, in its catalog (superuser-only).
  const [sub] = await pair.target.sql<{ subconninfo: string }>('SELECT subconninfo FROM pg_subscription', [], db);
  assert.ok(sub!.subconninfo.includes('Zq9srcSECRET'), 'the subscription authenticates with the configured password');
  await cli('status', ['-c', config, 'status', db]);
  const statusJson = await cli('status --json', ['-c', config, '--json', 'status', db]);
  JSON.parse(statusJson.stdout);
  await cli('wait', ['-c', config, 'wait', db, '--timeout', '90s']);
  await cli('verify', ['-c', config, 'verify', db]);
  await pair.source.sql("INSERT INTO items VALUES (1000, 'late')", [], db);
  const sw = await cli('switchover --json', ['-c', config, '--json', '--yes', 'switchover', db]);
  assert.equal(JSON.parse(sw.stdout).outcome, 'done');
  assert.equal((await pair.target.sql("SELECT 1 FROM items WHERE v = 'late'", [], db)).length, 1);
  // The reverse subscription on the source carries the target password the same way.
  await cli('cleanup', ['-c', config, '--yes', 'cleanup', db]);

  // A wrong system_identifier: refused with exit 3.
  const wrong = readFileSync(config, 'utf8').replace(/(source:[\s\S]*?system_identifier: ")(\d)/, (_m, a: string, d: string) => `${a}${d === '9' ? '1' : '9'}`);
  const wrongPath = join(pair.dir, 'wrong-sysid.yml');
  writeFileSync(wrongPath, wrong);
  await cli('check (wrong system_identifier)', ['-c', wrongPath, '--json', 'check', db], 3);

  // A switchover of a database that is not replicating: refused.
  const idle = await pair.freshDatabase('secret_idle');
  await pair.source.sql(TABLE_SQL[0]!, [], idle);
  const idleConfig = await pair.writeConfig([idle], 'switchover:\n  pause: revoke\n');
  const refused = await cli('switchover (refused)', ['-c', idleConfig, '--json', '--yes', 'switchover', idle], null);
  assert.notEqual(refused.code, 0, 'a switchover without replication is refused');

  // CREATE SUBSCRIPTION failing on the target (it cannot reach the source): the
  // error, the target's log (log_min_error_statement = error) and the output stay clean.
  const broken = await pair.freshDatabase('secret_broken');
  await pair.source.sql(TABLE_SQL[0]!, [], broken);
  const brokenConfig = await pair.writeConfig([broken], '').then((p) => {
    const text = readFileSync(p, 'utf8').replace(/(source:\n)/, '$1  conn_from_target: "host=127.0.0.1 port=1 user=postgres"\n');
    writeFileSync(p, text);
    return p;
  });
  await cli('schema (broken)', ['-c', brokenConfig, '--yes', 'schema', broken]);
  const failed = await cli('start (unreachable source)', ['-c', brokenConfig, '--yes', 'start', broken], 1);
  assert.match(failed.stderr, /CREATE SUBSCRIPTION failed/);
  assert.match(failed.stderr, /conn_from_target/, 'the hint says how to fix it');
  const failedJson = await cli('start --json (unreachable source)', ['-c', brokenConfig, '--json', '--yes', 'start', broken], 1);
  assert.ok(failedJson.stdout.length > 0);
  await cli('cleanup (broken)', ['-c', brokenConfig, '--yes', 'cleanup', broken]);

  // Nowhere: output of every command ...
  for (const { what, r } of outputs) {
    assert.deepEqual(holding(r.stdout + '\n' + r.stderr, NEEDLES), [], `${what} printed the password`);
  }
  // ... files in the config dir, the CLI's cwd and TMPDIR ...
  for (const dir of [pair.dir, work, tmp]) assert.deepEqual(filesHolding(dir, NEEDLES), [], `a file under ${dir} holds the password`);
  // ... argv of the client tools (the shims saw pg_dump and pg_restore run) ...
  const argv = readFileSync(argvLog, 'utf8');
  assert.match(argv, /pg_dump .*--schema-only/);
  assert.deepEqual(holding(argv, NEEDLES), [], 'a client tool got the password in its argv');
  // ... both servers' logs (which did record everything else) ...
  for (const c of [pair.source, pair.target]) {
    const log = c.log();
    const entries = logEntries(log);
    assert.ok(entries.some((e) => /statement: .*(CREATE PUBLICATION|ALTER SUBSCRIPTION)/.test(e.text)), 'log_statement = all is in effect');
    assert.deepEqual(holding(log, NEEDLES), [], `the ${c === pair.source ? 'source' : 'target'} server log holds the password`);
  }
  assert.ok(logEntries(pair.target.log()).some((e) => e.level === 'ERROR' && /could not connect to the publisher/.test(e.text)),
    'the failed CREATE SUBSCRIPTION is in the target log (without its text)');
  // ... and pg_stat_statements (utility statements are kept verbatim there).
  for (const c of [pair.source, pair.target]) {
    const rows = await c.sql<{ query: string }>('SELECT query FROM pg_stat_statements');
    assert.ok(rows.length > 10);
    assert.deepEqual(holding(rows.map((r) => r.query).join('\n'), NEEDLES), [], 'pg_stat_statements holds the password');
  }
});
