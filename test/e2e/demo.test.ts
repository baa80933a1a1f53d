// The demo is the first thing a newcomer runs: it must work from a fresh
// clone and prove what it claims (verify identical, every acknowledged write
// on the target, no failed transaction through PgBouncer). Run on the widest
// supported pair, 10 -> 18 (the default 13 -> 17 flow is the same code, and
// the version matrix covers that pair's steps). --report writes the demo's
// rehearsal report, whose numbers are the demo's. The demo leaves nothing in
// the temp dir (its work directory goes at the end, and on Ctrl-C), and shows
// the sample data loading as progress events.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startCli, waitFor } from '../helpers/harness.js';
import { PGBOUNCER_BIN } from '../../src/embedded/pgbouncer.js';

// The children's own temp dir, so other runs' pgshift-demo-* dirs cannot be counted as theirs.
// Readable by the unprivileged user the embedded servers run as.
const TMP = mkdtempSync(join(tmpdir(), 'pgshift-demotest-'));
chmodSync(TMP, 0o755);
const childEnv = { TMPDIR: TMP };
const demoDirs = (): string[] => readdirSync(TMP).filter((f) => f.startsWith('pgshift-demo-'));
after(() => {
  rmSync(TMP, { recursive: true, force: true });
});

test('pgshift demo --from 10 --to 18 runs the whole flow and exits 0, and --report writes its report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgshift-demo-report-'));
  const report = join(dir, 'demo.html');
  const r = await runCli(['--json', 'demo', '--from', '10', '--to', '18', '--report', report], { timeoutMs: 900_000, env: childEnv });
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  assert.deepEqual(demoDirs(), [], 'the demo removed its work directory (config, ledger)');
  const result = JSON.parse(r.stdout) as {
    ok: boolean; from: number; to: number; rows: number; pauseMethod: string; verify: { identical: boolean }; loadCheck: { ok: boolean; acknowledged: number; missing: number };
    load: { transactions: number; errors: number }; writePauseMs: number; timeline: { phase: string }[]; switchover: { pauseMs: number };
  };
  assert.equal(result.ok, true);
  assert.deepEqual([result.from, result.to], [10, 18]);
  assert.equal(result.verify.identical, true);
  assert.equal(result.loadCheck.ok, true);
  assert.equal(result.loadCheck.missing, 0);
  assert.ok(result.loadCheck.acknowledged > 0);
  assert.equal(result.load.transactions, result.loadCheck.acknowledged);
  if (existsSync(PGBOUNCER_BIN)) {
    assert.equal(result.pauseMethod, 'pgbouncer');
    assert.equal(result.load.errors, 0, 'a client transaction failed through PgBouncer');
  }
  assert.ok(result.writePauseMs > 0);
  assert.ok(result.timeline.some((p) => p.phase.startsWith('switchover')));

  const html = readFileSync(report, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  assert.match(html, /<title>pgshift rehearsal report: shop/);
  assert.doesNotMatch(html, /<script|(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, 'self-contained');
  assert.ok(html.includes(`data-metric="pause-ms" data-value="${result.switchover.pauseMs}"`), 'the report\'s pause is the demo\'s');
  assert.ok(html.includes(`data-metric="load-transactions" data-value="${result.load.transactions}"`), 'the report\'s acknowledged transactions are the demo\'s');
  assert.match(html, /<svg class="chart" id="chart-lag-0"/, 'a lag chart');

  // Loading the sample data showed progress: rows with a rate, up to the total the demo reports.
  const progress = r.stderr.split('\n').filter((l) => l.includes('"task":"sample-data"'))
    .map((l) => JSON.parse(l) as { done: number; total: number; unit: string; rate?: number; label: string });
  assert.ok(progress.length >= 5, `progress while the sample data loads (${progress.length} events)`);
  assert.ok(progress.every((p) => p.unit === 'rows' && p.total === result.rows), 'rows out of the total loaded');
  assert.ok(progress.some((p) => p.done < p.total && p.rate !== undefined && p.rate > 0), 'a rate while loading');
  assert.equal(progress.at(-1)!.done, result.rows);
  assert.ok(progress.some((p) => /order_items/.test(p.label)), 'named by table');
});

test('pgshift demo interrupted (Ctrl-C) leaves no work directory behind', async () => {
  const before = demoDirs();
  const run = startCli(['--json', 'demo', '--from', '10', '--to', '18'], { timeoutMs: 300_000, env: childEnv });
  let events = '';
  run.child.stderr!.on('data', (d: Buffer) => (events += d.toString()));
  // Once the clusters are up (the phase after them has begun): the work directory exists by then.
  await waitFor(async () => /"phase":"create sample database","state":"start"/.test(events), { timeoutMs: 240_000, what: 'the demo to start its clusters' });
  assert.equal(demoDirs().length, before.length + 1, 'the demo has its work directory while it runs');
  run.child.kill('SIGINT');
  const r = await run.done;
  assert.notEqual(r.code, 0);
  assert.deepEqual(demoDirs(), before, 'the work directory went with the interrupted demo');
});

test('pgshift demo refuses a pair it cannot run before starting anything', async () => {
  const down = await runCli(['demo', '--from', '17', '--to', '14'], { timeoutMs: 60_000 });
  assert.equal(down.code, 3, down.stderr);
  assert.match(down.stderr, /target major 14 is older than source major 17/);
  assert.doesNotMatch(down.stderr, /start PostgreSQL/);
  const old = await runCli(['demo', '--from', '9'], { timeoutMs: 60_000 });
  assert.equal(old.code, 2, old.stderr);
  assert.match(old.stderr, /--from: expected a whole number >= 10/);
  const report = await runCli(['demo', '--report', 'demo.pdf'], { timeoutMs: 60_000 });
  assert.equal(report.code, 2, report.stderr);
  assert.match(report.stderr, /--report demo\.pdf: the report is Markdown \(\.md\) or HTML \(\.html\)/);
  assert.doesNotMatch(report.stderr, /start PostgreSQL/);
});
