// The command-line conventions, on the real CLI as a child process (no server
// needed): help and version on stdout with exit 0, every flag of every command
// described with its default, global flags anywhere, PostgreSQL's duration
// units, the documented exit codes, --json documents with a format version,
// and switchover asking on a terminal like rollback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/harness.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { EXIT_CODES, GLOBAL_FLAGS, run, splitGlobal } from '../../src/cli/main.js';
import { errorFor } from '../../src/cli/failure.js';
import { Writable } from 'node:stream';
import { parseDuration } from '../../src/util/duration.js';
import { EXIT } from '../../src/errors.js';
import { BIN } from '../helpers/harness.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
const dir = mkdtempSync(join(tmpdir(), 'pgshift-cli-'));

/** The CLI in this process, its streams captured: for the many help pages (a process each would be slow). */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (add: (s: string) => void): Writable => new Writable({ write(chunk: Buffer, _e, cb) { add(chunk.toString()); cb(); } });
  const code = await run(args, { stdout: sink((t) => (stdout += t)), stderr: sink((t) => (stderr += t)) });
  return { code, stdout, stderr };
}

// A config whose servers do not exist: everything up to the first connection works.
const config = join(dir, 'pgshift.yml');
writeFileSync(config, `source:\n  conn: "host=127.0.0.1 port=1 user=u connect_timeout=2"\n  system_identifier: "1"\ntarget:\n  conn: "host=127.0.0.1 port=2 user=u connect_timeout=2"\n  system_identifier: "2"\ndatabases:\n  app: {}\n`);

test('--help, -h, help, help CMD, CMD --help: stdout, exit 0', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = args[0] === '--help' ? await runCli(args) : await inProcess(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /usage: pgshift \[global options\] <command>/);
    for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${c.name} `, 'm'), `${c.name} missing from the overview`);
    assert.match(r.stdout, /exit codes:\n {2}0 {2}success\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 {2}cannot connect.*\n {2}5 {2}internal error/);
    assert.equal(r.stderr, '');
  }
  for (const args of [['help', 'switchover'], ['switchover', '--help'], ['switchover', '-h'], ['-h', 'switchover']]) {
    const r = await inProcess(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^usage: pgshift switchover DB/);
  }
  const bare = await runCli([]);
  assert.equal(bare.code, EXIT.usage, 'no command is a usage error');
  assert.equal(bare.stdout, '');
  const unknown = await inProcess(['help', 'nope']);
  assert.equal(unknown.code, EXIT.usage);
});

test('--version and -V print the package version on stdout, anywhere on the line', async () => {
  for (const args of [['--version'], ['-V'], ['check', '-V']]) {
    const r = args[0] === '--version' ? await runCli(args) : await inProcess(args);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `pgshift ${pkg.version}\n`);
  }
});

test('every command\'s help lists every flag with a description, and the default where there is one', async () => {
  for (const c of COMMANDS) {
    const r = await inProcess(['help', c.name]);
    assert.equal(r.code, 0);
    for (const [name, f] of Object.entries({ ...(c.flags ?? {}), ...GLOBAL_FLAGS })) {
      assert.ok(f.description.length > 10, `${c.name} --${name} has no real description`);
      const line = r.stdout.split('\n').find((l) => l.includes(`--${name}`) && l.includes(f.description));
      assert.ok(line, `${c.name}: --${name} is not described in its help:\n${r.stdout}`);
      if (f.default !== undefined) assert.ok(line.includes(`(default: ${f.default})`), `${c.name} --${name}: default not shown`);
    }
  }
});

test('global flags work anywhere before "--"; exec keeps what follows it', () => {
  assert.deepEqual(splitGlobal(['switchover', 'app', '-c', 'x.yml', '--yes', '--json']),
    { global: { config: 'x.yml', json: true, yes: true, quiet: false, verbose: false, help: false, version: false }, command: 'switchover', rest: ['app'] });
  assert.deepEqual(splitGlobal(['--config=y.yml', 'verify', '-q', 'app', '--mode', 'count']).global.config, 'y.yml');
  assert.deepEqual(splitGlobal(['exec', '-c', 'x.yml', '--', 'psql', '-c', 'select 1', '--json']).rest, ['--', 'psql', '-c', 'select 1', '--json']);
  assert.throws(() => splitGlobal(['--mode', 'count', 'verify']), /unknown option "--mode" before the command/);
});

test('-c after the command is honoured (a missing file is named, exit 2)', async () => {
  const r = await runCli(['check', '-c', join(dir, 'absent.yml')]);
  assert.equal(r.code, EXIT.usage);
  assert.match(r.stderr, /absent\.yml: file not found/);
});

test('durations take PostgreSQL\'s units besides the old ones', () => {
  assert.equal(parseDuration('10min'), 600_000);
  assert.equal(parseDuration('10 min'), 600_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('2h'), 7_200_000);
  assert.equal(parseDuration('1h30min'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1500us'), 1.5);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('45'), 45_000);
  assert.equal(parseDuration('10 minutes'), undefined);
  assert.equal(parseDuration('5x'), undefined);
});

test('a bad duration flag is exit 2 naming the units', async () => {
  const r = await runCli(['-c', config, 'wait', 'app', '--timeout', 'soon']);
  assert.equal(r.code, EXIT.usage);
  assert.match(r.stderr, /--timeout: expected a duration such as 500ms, 30s, 10min or 2h \(units: us, ms, s, min, h, d\), found "soon"/);
});

test('exit codes: cannot connect is 4, with the host and port in the message; the README documents all six', async () => {
  const r = await runCli(['-c', config, 'check']);
  assert.equal(r.code, EXIT.connect, r.stderr);
  assert.match(r.stderr, /127\.0\.0\.1:1\/postgres\): cannot connect/);
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  for (const [code] of EXIT_CODES) assert.match(readme, new RegExp(`\\| ${code} \\|`), `exit code ${code} is not in README.md`);
});

test('every --json document carries its format version, errors too', async () => {
  const r = await runCli(['-c', config, '--json', 'check']);
  assert.equal(r.code, EXIT.connect);
  const doc = JSON.parse(r.stdout) as { formatVersion: number; ok: boolean; code: string };
  assert.equal(doc.formatVersion, 2);
  assert.equal(doc.ok, false);
  assert.equal(doc.code, 'unreachable');
});

test('--quiet and --verbose: -q drops progress, -v shows causes; both at once is a usage error', async () => {
  const both = await runCli(['-q', '-v', 'check']);
  assert.equal(both.code, EXIT.usage);
  const v = await runCli(['-c', config, 'check', '-v']);
  assert.equal(v.code, EXIT.connect);
  assert.match(v.stderr, /caused by: Error: connect ECONNREFUSED 127\.0\.0\.1:1/);
  const q = await runCli(['-c', config, 'check', '-q']);
  assert.equal(q.code, EXIT.connect);
  assert.doesNotMatch(q.stderr, /caused by/);
});

test('switchover asks on a terminal like rollback; no terminal and no --yes refuses; --yes goes ahead', async () => {
  // Without a terminal: refused before any connection, saying how to confirm.
  const noTty = await runCli(['-c', config, 'switchover', 'app']);
  assert.equal(noTty.code, EXIT.usage, noTty.stderr);
  assert.match(noTty.stderr, /Move writes for app to the target\?.*Refusing without a terminal; pass --yes to confirm/);
  // With --yes it goes on (and here fails to connect: exit 4, not a refusal).
  const yes = await runCli(['-c', config, 'switchover', 'app', '--yes']);
  assert.equal(yes.code, EXIT.connect, yes.stderr);
  // On a terminal (script(1) gives it one), "n" answers no: nothing done, exit 1.
  const cmd = [process.execPath, BIN, '-c', config, 'switchover', 'app'].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { input: 'n\n', encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  assert.match(tty.stdout, /Move writes for app to the target\? Writes pause while the target catches up\. \[y\/N\]/);
  assert.equal(tty.status, EXIT.problem, tty.stdout);
  assert.doesNotMatch(tty.stdout, /cannot connect/, 'it connected after the answer was no');
  // The same for rollback, which always asked.
  const rb = spawnSync('script', ['-qec', cmd.replace("'switchover'", "'rollback'"), '/dev/null'], { input: 'n\n', encoding: 'utf8', timeout: 60_000 });
  assert.match(rb.stdout, /Move writes for app back to the source\? \[y\/N\]/);
  assert.ok(execFileSync('script', ['--version'], { encoding: 'utf8' }).length > 0);
});

test('switchover and rollback take several databases or --all: none, both, or an unknown one is exit 2; the question names them all', async () => {
  const multi = join(dir, 'multi.yml');
  writeFileSync(multi, readFileSync(config, 'utf8') + '  shop: {}\n');
  for (const command of ['switchover', 'rollback']) {
    const none = await inProcess(['-c', multi, command]);
    assert.equal(none.code, EXIT.usage, none.stderr);
    assert.match(none.stderr, new RegExp(`${command} needs a database name \\(pgshift ${command} DB \\[DB\\.\\.\\.\\]\\), or --all`));
    const both = await inProcess(['-c', multi, command, 'app', '--all']);
    assert.equal(both.code, EXIT.usage, both.stderr);
    assert.match(both.stderr, /name databases or pass --all, not both/);
    const unknown = await inProcess(['-c', multi, '--yes', command, 'app', 'nope']);
    assert.equal(unknown.code, EXIT.usage, unknown.stderr);
    assert.match(unknown.stderr, /database "nope" is not in the config/);
  }
  // Without a terminal the refusal repeats the question: every database of --all, in one pause.
  const all = await runCli(['-c', multi, 'switchover', '--all']);
  assert.equal(all.code, EXIT.usage, all.stderr);
  assert.match(all.stderr, /Move writes for app, shop to the target in one pause\?/);
});

test('an unknown command or flag is exit 2 with a hint', async () => {
  const r = await runCli(['-c', config, 'verify', 'app', '--mood', 'full']);
  assert.equal(r.code, EXIT.usage);
  assert.match(r.stderr, /verify: Unknown option '--mood'/);
  assert.match(r.stderr, /hint: Run "pgshift help verify"/);
});

test('an error that is not pgshift\'s: a broken connection is exit 4 with what to do, anything else exit 5 asking for a report', () => {
  const lost = errorFor(new Error('Connection terminated unexpectedly'));
  assert.equal(lost.exitCode, EXIT.connect);
  assert.equal(lost.code, 'connection_lost');
  assert.match(lost.hint!, /run the same command again/);
  assert.equal(errorFor(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).exitCode, EXIT.connect);
  const bug = errorFor(new TypeError("Cannot read properties of undefined (reading 'x')"));
  assert.equal(bug.exitCode, EXIT.internal);
  assert.match(bug.hint!, /bug in pgshift.*pgshift --version/);
});
