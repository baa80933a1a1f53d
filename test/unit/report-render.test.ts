// The rendered report, section by section, from a journal made up here:
// what a reader of the Markdown or HTML file relies on (test/unit/observe.test.ts
// covers escaping and the numbers tests read back; test/e2e/observe.test.ts
// a real rehearsal).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, renderHtml, renderMarkdown, type JournalRecord } from '../../src/report/index.js';
import type { StatusSample } from '../../src/events.js';
import type { Problem } from '../../src/problems.js';

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const rec = (s: number, run: string, command: string, event: JournalRecord['event']): JournalRecord => ({ v: 1, time: at(s), run, command, database: 'app', event });
const look = (s: number): JournalRecord => rec(s, 'w', 'wait', {
  type: 'status', data: {
    database: 'app', time: at(s), phase: 'streaming', sourceVersion: '13.1', targetVersion: '17.1', tablesReady: 1, tablesTotal: 1,
    copiedBytes: 100, lagBytes: s, lagSeconds: 0.5, walRetainedBytes: 0, applyErrors: 0, syncErrors: 0, problems: 0,
  } satisfies StatusSample,
});
const now = { now: new Date(at(999)) };

test('Markdown: a long series shows 16 looks evenly spread, the first and the last among them', () => {
  const md = renderMarkdown(buildReport('app', Array.from({ length: 40 }, (_, i) => look(i + 1)), now));
  assert.ok(md.includes('40 looks, 16 shown evenly spread'));
  const lagRows = md.split('\n').filter((l) => /^\| \d+(\.\d+)? ?s \|/.test(l) || /^\| 0 /.test(l));
  assert.equal(lagRows.length, 16);
  assert.match(lagRows[0]!, /\| 1 B \|/, 'the first look');
  assert.match(lagRows[15]!, /\| 40 B \|/, 'the last look');
});

test('sections say when nothing was recorded; the write load appears only with a load', () => {
  const empty = buildReport('app', [rec(0, 'r', 'check', { type: 'command', state: 'start', pgshift: '0.1.0', pid: 1, args: ['app'], flags: {} })], now);
  const md = renderMarkdown(empty);
  for (const s of ['No switchover or rollback recorded.', 'No verify recorded.', 'No status looks or copy progress recorded.', 'None.', 'No check recorded.']) assert.ok(md.includes(s), s);
  assert.ok(!md.includes('## Write load'));
  assert.ok(!renderHtml(empty).includes('id="load"'));
  const loaded = buildReport('app', [rec(5, 'l', 'load', { type: 'result', data: { kind: 'load', database: 'app', clients: 1, durationMs: 2000, transactions: 10, tps: 5, errors: 0, longestStallMs: 40, latencyMs: { p50: 1, p95: 2, p99: 3, max: 4 } } })], now);
  assert.ok(renderMarkdown(loaded).includes('## Write load\n\n- ') && renderMarkdown(loaded).includes('1 client for 2.00 s: 10 transactions (5 tps), 0 failed'));
  assert.ok(renderHtml(loaded).includes('<section id="load"><h2>Write load</h2><ul>'));
  // A ledger check alone (the load ran elsewhere) still gets the section.
  const checked = buildReport('app', [rec(6, 'k', 'load-check', { type: 'result', data: { kind: 'load-check', database: 'app', ok: false, acknowledged: 10, missing: 1, duplicated: 0 } })], now);
  assert.ok(renderMarkdown(checked).includes('- load-check ') && renderMarkdown(checked).includes('1 missing, 0 duplicated of 10'));
  assert.ok(renderHtml(checked).includes('<span class="v-fail">1 missing, 0 duplicated</span> of 10'));
});

test('an aborted switchover says writes were given back and does not claim a rollback path', () => {
  const m = buildReport('app', [rec(5, 's', 'switchover', {
    type: 'result', data: {
      kind: 'move', database: 'app', direction: 'switchover', method: 'revoke', outcome: 'aborted', error: 'lag did not drain', totalMs: 900,
      phases: [{ phase: 'pause', startMs: 0, ms: 5, inPause: true }], copied: [], largeObjects: 0, reverse: true,
      warnings: [{ code: 'pgbouncer_pool_mode', message: 'slow catch-up', fix: 'use transaction pooling' }],
    },
  })], now);
  for (const text of [renderMarkdown(m), renderHtml(m)]) {
    assert.ok(text.includes('Aborted: lag did not drain. Writes were given back; replication kept running.'));
    assert.ok(!text.includes('rollback possible'));
    assert.ok(text.includes('warning: slow catch-up; use transaction pooling'));
  }
});

test('a move journaled before warnings had codes: its plain-text warnings are shown as they are', () => {
  const m = buildReport('app', [rec(5, 's', 'switchover', {
    type: 'result', data: {
      kind: 'move', database: 'app', direction: 'switchover', method: 'revoke', outcome: 'done', pauseMs: 40, totalMs: 900,
      phases: [{ phase: 'pause', startMs: 0, ms: 5, inPause: true }], copied: [], largeObjects: 0, reverse: true,
      warnings: ['sequences missing on the target: s1'] as unknown as Problem[],
    },
  })], now);
  for (const text of [renderMarkdown(m), renderHtml(m)]) assert.ok(text.includes('warning: sequences missing on the target: s1'));
});

test('check findings: still reported, or the check that no longer reported them; long object lists cut at five', () => {
  const check = (s: number, ids: string[]): JournalRecord => rec(s, `c${s}`, 'check', {
    type: 'result', data: {
      kind: 'check', ok: true, databases: ['app'], source: { version: '13.1', systemIdentifier: '1', role: 'r', settings: {} }, target: { version: '17.1', systemIdentifier: '2', role: 'r', settings: {} },
      findings: ids.map((id) => ({ id, severity: 'warn' as const, side: 'source', title: `${id} title`, objects: ['a', 'b', 'c', 'd', 'e', 'f', 'g'], objectCount: 9 })),
    },
  });
  const m = buildReport('app', [check(1, ['old', 'open']), check(2, ['open'])], now);
  const md = renderMarkdown(m);
  assert.match(md, /\| warn \| source \| open title \| a, b, c, d, e \+4 more \| {2}\| still reported by the last check \|/);
  assert.match(md, /\| warn \| source \| old title \| .* \| not reported by the check of /);
  const html = renderHtml(m);
  assert.ok(html.includes('a, b, c, d, e +4 more') && html.includes('still reported by the last check') && html.includes('not reported by the check of'));
});
