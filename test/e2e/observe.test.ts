// Watching and keeping a migration (13 -> 17), with a hostile password and a
// hostile database name: every command appends to the journal beside the
// config; --metrics serves Prometheus text that is scraped while `run` and
// `wait` and `verify` really run (held at a known point by a lock, released
// after the scrape), while `load` writes, and by `status --watch` after a
// switchover and after a rollback (their pauses read from the journal); `pgshift report` renders the journal
// as Markdown and as one HTML file, which headless Chromium lays out: the
// chart is drawn, the page asks for nothing but itself, and the pause and
// row counts it shows are the journal's. No password anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { Pair, runCli, startCli, versionPairs, waitFor, type CliResult } from '../helpers/harness.js';
import { Browser, decodePng } from '../helpers/browser.js';
import { holding, leakForms, setPassword } from './server-log.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { journalFile, type JournalRecord } from '../../src/journal/journal.js';
import { readJournal } from '../../src/journal/read.js';
import { formatMs } from '../../src/report/model.js';
import { METRICS } from '../../src/metrics/pgshift.js';
import type { Outcome } from '../../src/events.js';

const [[FROM, TO]] = versionPairs([[13, 17]]) as [[number, number]];
const ROLE = 'observer';
const PASSWORDS = {
  source: `Ob9src p@ss w'o\\rd %41 "q" =x ü表 :/?#&+`,
  target: `Ob9tgt p@ss w'o\\rd %41 "q" =x ü表 :/?#&+`,
};
const NEEDLES = ['Ob9src', 'Ob9tgt', ...leakForms(PASSWORDS.source), ...leakForms(PASSWORDS.target)];
const ENV = { OBS_SOURCE_PASSWORD: PASSWORDS.source, OBS_TARGET_PASSWORD: PASSWORDS.target, PGSHIFT_SOURCE_PASSWORD: '', PGSHIFT_TARGET_PASSWORD: '' };
const MB = 1024 * 1024;

let pair: Pair;
let db: string;
let config: string;
const outputs: { what: string; r: CliResult }[] = [];

before(async () => {
  pair = await Pair.start(FROM, TO);
  await setPassword(pair.source, ROLE, PASSWORDS.source, 'SUPERUSER LOGIN');
  await setPassword(pair.target, ROLE, PASSWORDS.target, 'SUPERUSER LOGIN');
  db = await pair.freshDatabase(`obs "ü" it's ../x`);
  await pair.source.sql(`CREATE TABLE items (id int PRIMARY KEY, v text);
    INSERT INTO items SELECT g, repeat('v', 50) FROM generate_series(1, 20000) g;
    CREATE TABLE notes (id bigserial PRIMARY KEY, note text)`, [], db);
  const endpoint = async (c: EmbeddedCluster, side: 'source' | 'target'): Promise<string> =>
    `${side}:\n  conn: ${JSON.stringify(formatConninfo(c.params('postgres', ROLE)))}\n  password: \${OBS_${side.toUpperCase()}_PASSWORD}\n  system_identifier: "${await c.systemIdentifier()}"\n`;
  config = join(pair.dir, 'pgshift.yml');
  writeFileSync(config, `${await endpoint(pair.source, 'source')}${await endpoint(pair.target, 'target')}databases:\n  ${JSON.stringify(db)}: {}\nswitchover:\n  pause: revoke\n  max_pause: 5s\n`, { mode: 0o600 });
});
after(async () => {
  await pair?.stop();
});

async function cli(what: string, args: string[], code = 0): Promise<CliResult> {
  const r = await runCli(['-c', config, ...args], { env: ENV, timeoutMs: 300_000 });
  outputs.push({ what, r });
  assert.equal(r.code, code, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r;
}

/** A command with --metrics on a free port: its child, its end, and the address it announced. */
function withMetrics(what: string, args: string[]): { child: ReturnType<typeof startCli>['child']; done: Promise<CliResult>; url: Promise<string> } {
  const { child, done } = startCli(['-c', config, ...args, '--metrics', '127.0.0.1:0'], { env: ENV, timeoutMs: 300_000 });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = waitFor(async () => /Prometheus metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(err)?.[1], { timeoutMs: 60_000, what: `${what} to announce its metrics` });
  void done.then((r) => outputs.push({ what, r }));
  return { child, done, url };
}

interface Sample { name: string; labels: Record<string, string>; value: number }

/** The exposition text as samples, checking each metric's HELP and TYPE come first. */
function parseMetrics(text: string): { samples: Sample[]; help: Map<string, string>; type: Map<string, string> } {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP (\S+) (.+)$/.exec(line);
    if (m) {
      help.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# TYPE (\S+) (gauge|counter)$/.exec(line);
    if (m) {
      type.set(m[1]!, m[2]!);
      continue;
    }
    m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not an exposition line: ${line}`);
    assert.ok(help.has(m[1]!) && type.has(m[1]!), `${m[1]} sampled before its HELP and TYPE`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, help, type };
}

async function scrape(url: string): Promise<ReturnType<typeof parseMetrics>> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

function value(m: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string> = { database: db }): number | undefined {
  return m.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function lsn(c: EmbeddedCluster): Promise<bigint> {
  const [r] = await c.sql<{ n: string }>("SELECT (pg_current_wal_lsn() - '0/0')::text AS n", [], db);
  return BigInt(r!.n.split('.')[0]!);
}

/** A session holding a lock until released. */
async function holdLock(c: EmbeddedCluster, sql: string): Promise<pg.Client> {
  const client = await c.client(db);
  await client.query('BEGIN');
  await client.query(sql);
  return client;
}

const journal = (): JournalRecord[] => readJournal(journalFile(config, db))?.records ?? [];
const results = <K extends Outcome['kind']>(kind: K): (Outcome & { kind: K })[] =>
  journal().flatMap((r) => (r.event.type === 'result' && r.event.data.kind === kind ? [r.event.data as Outcome & { kind: K }] : []));

test(`a migration ${FROM} -> ${TO} journaled and scraped: run, wait, verify, load, switchover, rollback, status --watch`, async () => {
  // The load's tables exist before the schema is copied, as they would in an application.
  await cli('load (schema)', ['load', db, '--duration', '500ms', '--clients', '1']);
  await cli('check', ['check', db]);

  // run, held in its first steps by a lock on a source table: the endpoint answers while it runs.
  const lockSource = await holdLock(pair.source, 'LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  const run = withMetrics('run', ['run', db, '--timeout', '200s']);
  let first: ReturnType<typeof parseMetrics>;
  try {
    first = await scrape(await run.url);
  } finally {
    await lockSource.query('ROLLBACK');
    await lockSource.end();
  }
  for (const def of METRICS) {
    assert.equal(first.type.get(def.name), def.type, `TYPE of ${def.name}`);
    assert.ok(first.help.get(def.name), `HELP of ${def.name}`);
  }
  assert.equal(value(first, 'pgshift_last_pause_ms', { database: db }), undefined, 'no switchover yet: no pause');
  const ran = await run.done;
  assert.equal(ran.code, 0, ran.stderr);

  // wait, held by the target's apply: a row locked on the target blocks the apply of a transaction
  // that updates it (a row lock: status's size queries are not blocked); what the source writes after
  // it cannot be confirmed until it is released. (Only after: the subscriber may confirm the blocked
  // transaction's own changes from a keepalive it read before blocking, so they need not count as lag.)
  const lockTarget = await holdLock(pair.target, 'SELECT 1 FROM items WHERE id = 1 FOR UPDATE');
  let during: ReturnType<typeof parseMetrics> | undefined;
  let walWritten: bigint;
  const wait = withMetrics('wait', ['wait', db, '--timeout', '200s']);
  try {
    await pair.source.sql("UPDATE items SET v = 'held' WHERE id = 1", [], db);
    await waitFor(async () => (await pair.target.sql("SELECT 1 FROM pg_stat_activity WHERE backend_type = 'logical replication apply worker' AND wait_event_type = 'Lock'", [], db)).length > 0,
      { timeoutMs: 60_000, what: 'the apply worker to wait for the locked row' });
    const before = await lsn(pair.source);
    await pair.source.sql("INSERT INTO items SELECT g, repeat('w', 200) FROM generate_series(100001, 120000) g", [], db);
    walWritten = (await lsn(pair.source)) - before;
    assert.ok(walWritten > 2n * BigInt(MB), `the insert wrote ${walWritten} bytes of WAL`);
    const url = await wait.url;
    let last = '';
    during = await waitFor(async () => {
      const m = await scrape(url);
      last = m.samples.filter((x) => x.labels.database === db).map((x) => `${x.name} ${x.value}`).join('; ');
      return (value(m, 'pgshift_lag_bytes') ?? 0) >= Number(walWritten) ? m : undefined;
    }, { timeoutMs: 60_000, what: 'a scrape showing the lag the blocked apply leaves' }).catch((e: Error) => {
      throw new Error(`${e.message}; last scrape: ${last}`);
    });
  } finally {
    await lockTarget.query('ROLLBACK');
    await lockTarget.end();
  }
  const waited = await wait.done;
  assert.equal(waited.code, 0, waited.stderr);
  const [subTables] = await pair.target.sql<{ n: string }>('SELECT count(*)::text AS n FROM pg_subscription_rel', [], db);
  assert.equal(value(during, 'pgshift_tables_total'), Number(subTables!.n));
  assert.equal(value(during, 'pgshift_tables_ready'), Number(subTables!.n), 'every table was ready; only the apply was held');
  const lag = value(during, 'pgshift_lag_bytes')!;
  assert.ok(value(during, 'pgshift_slot_retained_bytes', { database: db, side: 'source' })! >= lag, 'the slot retains at least what is not yet confirmed');
  assert.equal(value(during, 'pgshift_apply_errors_total', { database: db, side: 'target' }), 0);
  assert.ok(value(during, 'pgshift_lag_seconds') !== undefined);
  // The journal kept those looks: the held lag, then caught up.
  const waitRun = journal().find((r) => r.command === 'wait' && r.event.type === 'command')!.run;
  const looks = journal().filter((r) => r.run === waitRun && r.event.type === 'status').map((r) => (r.event as { data: { lagBytes: number } }).data.lagBytes);
  assert.ok(looks.some((l) => l >= Number(walWritten)), `the journal kept a look with the held lag: ${looks.join(', ')}`);
  assert.ok(looks[looks.length - 1]! <= MB, 'and the last look, caught up');

  // verify, held on the target's (empty) notes by a lock: the rows of items it compared are served meanwhile.
  const lockNotes = await holdLock(pair.target, 'LOCK TABLE notes IN ACCESS EXCLUSIVE MODE');
  const verify = withMetrics('verify', ['verify', db]);
  try {
    const verifyUrl = await verify.url;
    await waitFor(async () => (value(await scrape(verifyUrl), 'pgshift_verify_rows_compared') ?? 0) > 0, { timeoutMs: 60_000, what: 'verify to serve the rows it compared' });
  } finally {
    await lockNotes.query('ROLLBACK');
    await lockNotes.end();
  }
  assert.equal((await verify.done).code, 0);
  const verified = results('verify');
  assert.equal(verified.length, 1);
  assert.ok(verified[0]!.identical);
  assert.ok(verified[0]!.rows >= 40_000, `verify compared ${verified[0]!.rows} rows`);

  // A load scraped while it writes. It runs as a superuser, whom a revoke fence cannot keep out
  // (pgshift warns), so it stops before the switchover; load-check then finds all it acknowledged.
  const ledger = join(pair.dir, 'ledger.txt');
  const load = withMetrics('load', ['load', db, '--clients', '2', '--ledger', ledger]);
  const loadUrl = await load.url;
  const loading = await waitFor(async () => {
    const m = await scrape(loadUrl);
    return (value(m, 'pgshift_load_transactions_total') ?? 0) >= 20 ? m : undefined;
  }, { timeoutMs: 60_000, what: 'the load to be acknowledged 20 times' });
  assert.equal(value(loading, 'pgshift_load_errors_total'), 0);
  load.child.kill('SIGINT');
  const loaded = await load.done;
  assert.equal(loaded.code, 0, loaded.stderr);
  const loadResult = results('load').find((l) => l.clients === 2)!;
  assert.equal(loadResult.transactions, readFileSync(ledger, 'utf8').split('\n').filter((l) => l.length === 36).length, 'the journal counts what the ledger lists');
  const switchover = withMetrics('switchover', ['--yes', 'switchover', db]);
  await switchover.url;
  assert.equal((await switchover.done).code, 0);
  await cli('load-check', ['load-check', db, '--ledger', ledger]);

  // status --watch exports the switchover's pause from the journal, exactly.
  const moved = results('move');
  assert.equal(moved.length, 1);
  assert.ok(moved[0]!.pauseMs! > 0);
  const watched = async (): Promise<ReturnType<typeof parseMetrics>> => {
    const watch = withMetrics('status --watch', ['status', db, '--watch', '--interval', '500ms']);
    const watchUrl = await watch.url;
    const m = await waitFor(async () => {
      const s = await scrape(watchUrl);
      return value(s, 'pgshift_status_timestamp_seconds') !== undefined ? s : undefined;
    }, { timeoutMs: 60_000, what: 'status --watch to look once' });
    watch.child.kill('SIGINT');
    assert.equal((await watch.done).code, 0);
    return m;
  };
  const after = await watched();
  assert.equal(value(after, 'pgshift_last_pause_ms', { database: db, side: 'source' }), moved[0]!.pauseMs);
  assert.equal(value(after, 'pgshift_last_pause_ms', { database: db, side: 'target' }), undefined, 'no rollback yet');
  assert.ok(value(after, 'pgshift_reverse_lag_bytes') !== undefined, 'the rollback path\'s lag is served');
  const pausePhases = moved[0]!.phases;
  assert.equal(value(after, 'pgshift_last_phase_ms', { database: db, side: 'source', phase: 'catch-up' }), pausePhases.find((p) => p.phase === 'catch-up')!.ms);
  assert.equal(value(after, 'pgshift_verify_rows_compared'), verified[0]!.rows);
  assert.equal(value(after, 'pgshift_lag_bytes'), undefined, 'after the switchover there is no forward slot: no lag, not a made-up 0');

  // A rollback: its pause is served with side="target" (whose writes it paused), the switchover's is kept.
  const rollback = withMetrics('rollback', ['--yes', 'rollback', db]);
  await rollback.url;
  assert.equal((await rollback.done).code, 0);
  const rolledBack = results('move').filter((m) => m.direction === 'rollback');
  assert.equal(rolledBack.length, 1);
  const back = await watched();
  assert.equal(value(back, 'pgshift_last_pause_ms', { database: db, side: 'target' }), rolledBack[0]!.pauseMs);
  assert.equal(value(back, 'pgshift_last_pause_ms', { database: db, side: 'source' }), moved[0]!.pauseMs);
  assert.notEqual(value(back, 'pgshift_lag_bytes'), undefined, 'after a rollback forward replication runs again: its lag is served');

  // The journal: beside the config, private, one file named safely for the hostile name, every command in it.
  const file = journalFile(config, db);
  assert.equal(dirname(file), join(pair.dir, '.pgshift'));
  assert.match(basename(file), /^obs%20%22%C3%BC%22%20it%27s%20%2E%2E%2Fx_\d+_\d+\.ndjson$/);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(pair.dir, '.pgshift')).mode & 0o777, 0o700);
  const commands = new Set(journal().filter((r) => r.event.type === 'command' && r.event.state === 'end').map((r) => r.command));
  for (const c of ['load', 'check', 'run', 'wait', 'verify', 'switchover', 'load-check', 'status', 'rollback']) assert.ok(commands.has(c), `${c} is in the journal`);
  assert.deepEqual(holding(readFileSync(file, 'utf8'), NEEDLES), [], 'a password is in the journal');
});

test('pgshift report: Markdown and a self-contained HTML file with the journal\'s numbers, laid out by Chromium', async () => {
  const move = results('move')[0];
  assert.equal(move?.direction, 'switchover');
  const verify = results('verify')[0];
  assert.ok(move && verify, 'the flow above recorded a switchover and a verify');

  const md = await cli('report', ['report', db]);
  assert.match(md.stdout, /^# pgshift rehearsal report: /);
  assert.ok(md.stdout.includes(`write pause **${formatMs(move.pauseMs!)}**`), 'the Markdown pause is the journal\'s');
  assert.ok(md.stdout.includes(`${verify.rows.toLocaleString('en-US')} rows compared`));
  for (const section of ['## Timeline', '## Copy and replication lag', '## Switchover and rollback', '## Verify', '## Warnings and what was done about them', '## Clusters']) {
    assert.ok(md.stdout.includes(section), section);
  }
  assert.match(md.stdout, /\| wal_level \| logical \| logical \|/);
  const html = join(pair.dir, 'report.html');
  await cli('report -o html', ['report', db, '-o', html]);
  const text = readFileSync(html, 'utf8');
  assert.doesNotMatch(text, /<script|(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, 'no script and no remote asset');
  for (const o of outputs) assert.deepEqual(holding(o.r.stdout + o.r.stderr, NEEDLES), [], `${o.what} printed a password`);
  assert.deepEqual(holding(md.stdout + text, NEEDLES), [], 'a password is in the report');

  const browser = await Browser.launch();
  try {
    const requests = browser.recordRequests();
    const url = pathToFileURL(html).href;
    await browser.open(url, 1100, 900);
    assert.deepEqual(requests, [url], 'the page loads nothing but itself');
    const dom = await browser.evaluate<{
      pause: { value: string; text: string }; rows: { value: string; text: string };
      charts: { id: string; declared: number; points: number; length: number; box: { x: number; y: number; w: number; h: number }; color: string }[];
      phases: number; title: string;
    }>(`(() => {
      const m = (n) => { const e = document.querySelector('[data-metric="' + n + '"]'); return { value: e.dataset.value, text: e.textContent }; };
      return {
        pause: m('pause-ms'), rows: m('verify-rows'), title: document.title,
        phases: document.querySelectorAll('svg.phases#phases-0 rect.bar').length,
        charts: [...document.querySelectorAll('svg.chart')].map((svg) => {
          const line = svg.querySelector('polyline.line');
          const r = line ? line.getBoundingClientRect() : { x: 0, y: 0, width: 0, height: 0 };
          return { id: svg.id, declared: Number(svg.dataset.points), points: line ? line.points.numberOfItems : 0, length: line ? line.getTotalLength() : 0,
            box: { x: r.x + window.scrollX, y: r.y + window.scrollY, w: r.width, h: r.height }, color: line ? getComputedStyle(line).stroke : '' };
        }),
      };
    })()`);
    assert.equal(Number(dom.pause.value), move.pauseMs, 'the pause in the page is the journal\'s');
    assert.equal(dom.pause.text, formatMs(move.pauseMs!));
    assert.equal(Number(dom.rows.value), verify.rows, 'the rows compared in the page are the journal\'s');
    assert.equal(dom.rows.text, verify.rows.toLocaleString('en-US'));
    assert.equal(dom.phases, move.phases.length, 'a bar per switchover phase');
    assert.match(dom.title, /pgshift rehearsal report/);
    for (const c of dom.charts) assert.equal(c.points, c.declared, `${c.id}: every point drawn`);
    const lag = dom.charts.filter((c) => c.id.startsWith('chart-lag-') && c.points >= 2 && c.length > 0 && c.box.w > 0 && c.box.h > 0);
    assert.ok(lag.length > 0, `a lag chart with a drawn line: ${JSON.stringify(dom.charts)}`);

    // The screenshot shows that line: pixels of its colour inside its box.
    const png = await browser.screenshot();
    writeFileSync(join(pair.dir, 'report.png'), png);
    const img = decodePng(png);
    assert.ok(img.width >= 1000 && img.height > 900, `a full-page screenshot, ${img.width}x${img.height}`);
    const box = lag[0]!.box;
    let red = 0;
    for (let y = Math.floor(box.y); y < Math.ceil(box.y + box.h) && y < img.height; y++) {
      for (let x = Math.floor(box.x); x < Math.ceil(box.x + box.w) && x < img.width; x++) {
        const [r, g, b] = img.pixel(x, y);
        if (r > 150 && g < 110 && b < 110) red++;
      }
    }
    assert.ok(red > 20, `the lag line is on the screenshot (${red} red pixels in its box)`);
  } finally {
    await browser.close();
  }
});
