// The journal, the metrics and the report without a server: the exposition
// format and its escaping, --metrics addresses, the endpoint's answers,
// which events set which metric, journal file names for hostile database
// names, sampling, redaction of a hostile password in every form it could
// take, torn lines, and the report's numbers and escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry, escapeLabelValue } from '../../src/metrics/registry.js';
import { MetricsServer, parseMetricsAddress, isLoopback } from '../../src/metrics/server.js';
import { PgshiftMetrics } from '../../src/metrics/pgshift.js';
import { CommandJournal, FileSink, MemorySink, journalFileName, sampleGapMs, type JournalRecord } from '../../src/journal/journal.js';
import { JournalTail, readJournal } from '../../src/journal/read.js';
import { buildReport, formatMs } from '../../src/report/model.js';
import { renderHtml, renderMarkdown } from '../../src/report/index.js';
import { Output } from '../../src/cli/output.js';
import { UsageError } from '../../src/errors.js';
import { warnEvent, warning, type PgshiftEvent, type StatusSample } from '../../src/events.js';
import { HOSTILE_NAMES } from '../helpers/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'pgshift-observe-'));

test('exposition: HELP and TYPE before samples, label values escaped, an unknown value absent', () => {
  const r = new Registry([{ name: 'x_bytes', help: 'a \\ help\nline', type: 'gauge', labels: ['database', 'side'] }]);
  r.set('x_bytes', { database: 'a"b\\c\nd', side: 'source' }, 42);
  r.set('x_bytes', { database: 'gone', side: 'source' }, 1);
  r.set('x_bytes', { database: 'gone', side: 'source' }, null);
  assert.equal(r.render(), '# HELP x_bytes a \\\\ help\\nline\n# TYPE x_bytes gauge\nx_bytes{database="a\\"b\\\\c\\nd",side="source"} 42\n');
  assert.equal(escapeLabelValue('ü表'), 'ü表');
  assert.throws(() => r.set('x_bytes', { table: 't' }, 1), /no label table/);
});

test('--metrics addresses: a port alone is loopback; a host is bound as given; bad ones are usage errors', () => {
  assert.deepEqual(parseMetricsAddress('9187'), { host: '127.0.0.1', port: 9187 });
  assert.deepEqual(parseMetricsAddress(':0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseMetricsAddress('0.0.0.0:9187'), { host: '0.0.0.0', port: 9187 });
  assert.deepEqual(parseMetricsAddress('[::1]:9187'), { host: '::1', port: 9187 });
  assert.deepEqual(parseMetricsAddress('localhost:1'), { host: 'localhost', port: 1 });
  for (const bad of ['abc', '1.2.3.4:99999', '::1:80', 'a b:1', '[x]:1', '']) assert.throws(() => parseMetricsAddress(bad), UsageError, bad);
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.1.2.3') && isLoopback('::1') && isLoopback('localhost'));
  assert.ok(!isLoopback('0.0.0.0') && !isLoopback('10.0.0.1') && !isLoopback('::'));
});

test('the endpoint: GET /metrics answers Prometheus text, anything else not; a port in use is a usage error', async () => {
  const server = await MetricsServer.start({ host: '127.0.0.1', port: 0 }, () => '# HELP a b\n# TYPE a gauge\na 1\n');
  try {
    const ok = await fetch(server.url);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(await ok.text(), '# HELP a b\n# TYPE a gauge\na 1\n');
    assert.equal((await fetch(server.url.replace('/metrics', '/'))).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
    await assert.rejects(MetricsServer.start({ host: '127.0.0.1', port: server.address.port }, () => ''),
      (e: Error) => e instanceof UsageError && /port is in use/.test(e.message));
  } finally {
    await server.close();
  }
});

const sample = (over: Partial<StatusSample> = {}): StatusSample => ({
  database: 'app', time: '2026-01-01T00:00:00.000Z', phase: 'streaming', sourceVersion: '13.1', targetVersion: '17.1',
  tablesReady: 3, tablesTotal: 4, copiedBytes: 1000, lagBytes: 500, lagSeconds: 0.5, walRetainedBytes: 900, applyErrors: 0, syncErrors: 0, problems: 0, ...over,
});

test('metrics from events: status looks, progress of the command\'s database, results; unknown is absent, not 0', () => {
  const m = new PgshiftMetrics('app');
  m.observe({ type: 'status', data: sample() });
  const r = m.registry;
  assert.equal(r.get('pgshift_lag_bytes', { database: 'app' }), 500);
  assert.equal(r.get('pgshift_slot_retained_bytes', { database: 'app', side: 'source' }), 900);
  assert.equal(r.get('pgshift_apply_errors_total', { database: 'app', side: 'target' }), 0);
  assert.equal(r.get('pgshift_reverse_lag_bytes', { database: 'app' }), undefined, 'no reverse replication before the switchover');
  m.observe({ type: 'status', data: sample({ lagBytes: null, reverseLagBytes: 64 }) });
  assert.equal(r.get('pgshift_reverse_lag_bytes', { database: 'app' }), 64);
  m.observe({ type: 'status', data: sample({ lagBytes: null, applyErrors: null }) });
  assert.equal(r.get('pgshift_lag_bytes', { database: 'app' }), undefined);
  assert.doesNotMatch(m.render(), /pgshift_apply_errors_total\{/);
  m.observe({ type: 'progress', task: 'verify', done: 1234, unit: 'rows' });
  assert.equal(r.get('pgshift_verify_rows_compared', { database: 'app' }), 1234);
  m.observe({ type: 'progress', task: 'copy-total', done: 777, unit: 'bytes' });
  assert.equal(r.get('pgshift_copy_bytes', { database: 'app' }), 777);
  const move = (direction: 'switchover' | 'rollback', pauseMs: number): PgshiftEvent => ({
    type: 'result', data: { kind: 'move', database: 'app', direction, method: 'pgbouncer', outcome: 'done', pauseMs, totalMs: 900, phases: [{ phase: 'pause', startMs: 1, ms: 2, inPause: true }], copied: [], largeObjects: 0, reverse: true, warnings: [] },
  });
  m.observe(move('switchover', 41.5));
  m.observe(move('rollback', 12.25));
  assert.equal(r.get('pgshift_last_pause_ms', { database: 'app', side: 'source' }), 41.5);
  assert.equal(r.get('pgshift_last_pause_ms', { database: 'app', side: 'target' }), 12.25);
  assert.equal(r.get('pgshift_last_phase_ms', { database: 'app', side: 'source', phase: 'pause' }), 2);
});

test('journal file names: hostile database names stay in the directory, visible, distinct, and decode back', () => {
  const names = [...HOSTILE_NAMES, '..', '.', 'a/b', '../../etc/passwd', 'App', 'app', 'x.y', 'x%2Ey'];
  const files = names.map(journalFileName);
  assert.equal(new Set(files).size, names.length);
  for (const [i, f] of files.entries()) {
    assert.match(f, /^[A-Za-z0-9_%-]+\.ndjson$/, f);
    assert.ok(f.length <= 255 - 1, f);
    assert.equal(decodeURIComponent(f.slice(0, -'.ndjson'.length)), names[i]);
  }
});

function journalWith(opts: { redact?: (s: string) => string; now?: () => number; sink?: MemorySink } = {}): { j: CommandJournal; sink: MemorySink } {
  const sink = opts.sink ?? new MemorySink();
  const j = new CommandJournal({
    command: 'wait', version: '0.0.0', args: ['app'], flags: { timeout: '1h' }, databases: () => ['app'], sinkFor: () => sink,
    redact: opts.redact ?? ((s) => s), now: opts.now,
  });
  return { j, sink };
}

test('journal: a warning about one database of a command goes to that database\'s journal only', () => {
  const sinks = new Map([['a', new MemorySink()], ['b', new MemorySink()]]);
  const j = new CommandJournal({
    command: 'switchover', version: '0.0.0', args: ['a', 'b'], flags: {}, databases: () => ['a', 'b'], sinkFor: (d) => sinks.get(d)!, redact: (s) => s,
  });
  j.event(warning('sequences_missing', 'sequences missing on the target: s1'));
  j.event(warnEvent({ code: 'sequences_missing', message: 'sequences missing on the target: s2' }, { database: 'b' }));
  j.end(0);
  const warned = (d: string) => sinks.get(d)!.records.flatMap((r) => (r.event.type === 'warn' ? [r.event.message] : []));
  assert.deepEqual(warned('a'), ['sequences missing on the target: s1']);
  assert.deepEqual(warned('b'), ['sequences missing on the target: s1', 'sequences missing on the target: s2']);
});

test('journal sampling: a look a second in the first minute, every 10 s later; the last look before any other record', () => {
  let now = 1_000_000;
  const { j, sink } = journalWith({ now: () => now });
  for (let i = 0; i < 30; i++) {
    j.event({ type: 'status', data: sample({ lagBytes: i }) });
    now += 100;
  }
  j.event({ type: 'step', step: 'wait', state: 'done' });
  now = 1_000_000 + 120_000;
  for (let i = 0; i < 100; i++) {
    j.event({ type: 'status', data: sample({ lagBytes: 1000 + i }) });
    now += 1000;
  }
  j.end(0);
  const kinds = sink.records.map((r) => r.event.type);
  assert.equal(kinds[0], 'command');
  assert.equal(kinds[kinds.length - 1], 'command');
  const lags = sink.records.flatMap((r) => (r.event.type === 'status' ? [r.event.data.lagBytes] : []));
  // 0..2.9 s at one a second: 0, 10, 20, then 29 (the last before the step); then 1000 and one per 10 s, then the last (1099).
  assert.deepEqual(lags.slice(0, 4), [0, 10, 20, 29]);
  assert.deepEqual(lags.slice(4), [1000, 1010, 1020, 1030, 1040, 1050, 1060, 1070, 1080, 1090, 1099]);
  assert.equal(sampleGapMs(2 * 3_600_000), 60_000);
});

const PASSWORD = `Jr9SECRET p@ss w'o\\rd %41 "q" =x ü表 :/?#&+`;
const FORMS = [PASSWORD, encodeURIComponent(PASSWORD), PASSWORD.replace(/\\/g, '\\\\').replace(/'/g, "\\'"), PASSWORD.replace(/'/g, "''"), JSON.stringify(PASSWORD).slice(1, -1)];

test('journal redaction: a hostile password in any form, in messages, data values and keys, never reaches a record', () => {
  const out = new Output({ json: false });
  out.addSecret(PASSWORD);
  const events: PgshiftEvent[] = FORMS.map((f, i) => ({ type: 'warn', code: 'connection_lost', message: `connection "password=${f}" failed`, fix: `retry with password=${f}`, data: { [`k${f}`]: [`v ${f}`], n: i } }));
  const leaked = (records: JournalRecord[]): string[] => {
    const text = records.map((r) => JSON.stringify(r)).join('\n');
    return ['Jr9SECRET', ...FORMS].filter((f) => text.includes(f));
  };
  // Without the redactor the password is there: the check below can fail.
  const plain = journalWith();
  for (const e of events) plain.j.event(e);
  plain.j.end(0);
  assert.ok(leaked(plain.sink.records).length > 0);
  const safe = journalWith({ redact: (s) => out.redact(s) });
  for (const e of events) safe.j.event(e);
  safe.j.end(1, { code: 'x', message: `failed with ${PASSWORD}` });
  assert.deepEqual(leaked(safe.sink.records), []);
  assert.match(JSON.stringify(safe.sink.records), /\*{8}/);
});

test('journal file: created 0600, a line cut by a kill is left alone and the next record starts a new line; a tail waits for whole lines', () => {
  const file = join(dir, '.pgshift', 'app.ndjson');
  const sink = new FileSink(file, (e) => assert.fail(e.message));
  const { j } = journalWith({ sink: sink as unknown as MemorySink });
  j.event({ type: 'info', message: 'one' });
  sink.close();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, '.pgshift')).mode & 0o777, 0o700);
  appendFileSync(file, '{"v":1,"time":"2026-01-');
  const sink2 = new FileSink(file, (e) => assert.fail(e.message));
  const second = journalWith({ sink: sink2 as unknown as MemorySink });
  second.j.event({ type: 'info', message: 'two' });
  second.j.end(0);
  sink2.close();
  const all = readJournal(file)!;
  assert.equal(all.damaged, 1);
  assert.deepEqual(all.records.filter((r) => r.event.type === 'info').map((r) => (r.event as { message: string }).message), ['one', 'two']);
  const tail = new JournalTail(file);
  const n = tail.read().records.length;
  appendFileSync(file, JSON.stringify(all.records[0]).slice(0, 10));
  assert.equal(tail.read().records.length, 0, 'half a line is not read yet');
  appendFileSync(file, JSON.stringify(all.records[0]).slice(10) + '\n');
  assert.equal(tail.read().records.length, 1);
  assert.ok(n > 0);
  const unwritable = new FileSink('/proc/pgshift/x.ndjson', () => (failures += 1));
  let failures = 0;
  const w = journalWith({ sink: unwritable as unknown as MemorySink });
  w.j.event({ type: 'info', message: 'a' });
  w.j.event({ type: 'info', message: 'b' });
  assert.equal(failures, 1, 'a journal that cannot be written warns once');
});

function rec(time: string, run: string, command: string, event: JournalRecord['event']): JournalRecord {
  return { v: 1, time, run, command, database: 'app', event };
}

test('the report: the journal\'s numbers, hostile names escaped in Markdown and HTML, no script, no remote asset', () => {
  const evil = '<img src=x onerror=alert(1)> | `t`_';
  const records: JournalRecord[] = [
    rec('2026-01-01T00:00:00.000Z', 'r1', 'wait', { type: 'command', state: 'start', pgshift: '0.1.0', pid: 1, args: ['app'], flags: {} }),
    rec('2026-01-01T00:00:01.000Z', 'r1', 'wait', { type: 'status', data: sample({ time: '2026-01-01T00:00:01.000Z', tablesReady: 1, copiedBytes: 0, lagBytes: 5000 }) }),
    rec('2026-01-01T00:00:03.000Z', 'r1', 'wait', { type: 'status', data: sample({ time: '2026-01-01T00:00:03.000Z', tablesReady: 4, copiedBytes: 4096, lagBytes: 10 }) }),
    rec('2026-01-01T00:00:04.000Z', 'r1', 'wait', { type: 'warn', code: 'connection_lost', message: `slow ${evil}` }),
    rec('2026-01-01T00:00:05.000Z', 'r1', 'wait', { type: 'command', state: 'end', ms: 5000, exitCode: 0 }),
    rec('2026-01-01T00:01:00.000Z', 'r2', 'verify', { type: 'result', data: { kind: 'verify', database: 'app', mode: 'full', identical: false, tables: 3, rows: 123456, ms: 2000, live: true, differing: [{ table: evil, differences: 2 }], unsettled: [], deferred: ['public.no_key'], warnings: [] } }),
    rec('2026-01-01T00:02:00.000Z', 'r3', 'switchover', { type: 'result', data: { kind: 'move', database: 'app', direction: 'switchover', method: 'pgbouncer', outcome: 'done', pauseMs: 43.21, totalMs: 800, phases: [{ phase: 'pause', startMs: 100, ms: 3, inPause: true }, { phase: 'catch-up', startMs: 103, ms: 20, inPause: true }], copied: [{ table: evil, rows: 7 }], largeObjects: 0, reverse: true, reverseVerified: false, reverseProblem: `column ${evil} missing on the source`, views: { populated: 2, refreshed: 2, failed: 0 }, warnings: [] } }),
  ];
  const m = buildReport('app', records, { now: new Date('2026-01-02T00:00:00Z') });
  assert.equal(m.verifies[0]!.rows, 123456);
  assert.equal(m.moves[0]!.pauseMs, 43.21);
  assert.equal(m.warnings[0]!.outcome, 'wait went on and finished (exit 0)');
  assert.equal(m.series[0]!.points.length, 2);
  const md = renderMarkdown(m);
  assert.ok(md.includes(`write pause **${formatMs(43.21)}**`) && formatMs(43.21) === '43.2 ms');
  assert.ok(md.includes('123,456 rows compared'));
  assert.ok(!md.includes('<img'), 'HTML in a name is text in Markdown');
  assert.ok(md.includes('&lt;img src=x onerror=alert(1)&gt; \\| \\`t\\`\\_'));
  assert.ok(md.includes('public.no_key: replication does not carry it; copied at switchover, compared after it'));
  assert.ok(md.includes('reverse replication started but NOT working: column &lt;img'), 'a rollback path that failed its check is not called possible');
  assert.ok(md.includes('2 materialized view(s) populated before the pause, 2 refreshed after the resume'));
  const html = renderHtml(m);
  assert.ok(!html.includes('<img') && !/<script/i.test(html) && !/(?:src|href)=["']?(?:https?:)?\/\//i.test(html));
  assert.match(html, /data-metric="pause-ms" data-value="43.21">43.2 ms</);
  assert.match(html, /data-metric="verify-rows" data-value="123456">123,456</);
  assert.ok(html.includes('public.no_key: copied at switchover, compared after it') && html.includes('reverse replication started but NOT working'));
  assert.match(html, /<svg class="chart" id="chart-lag-0" data-points="2"/);
  assert.match(html, /<svg class="chart" id="chart-copy-0" data-points="1"/, 'throughput between the two looks of the copy');
  writeFileSync(join(dir, 'r.html'), html);
  assert.ok(readFileSync(join(dir, 'r.html'), 'utf8').length > 1000);
});
