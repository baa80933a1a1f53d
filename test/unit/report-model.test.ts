// What the rehearsal report makes of a journal: the timeline of each command,
// what became of each warning, which check findings are still open. Journal
// records are made up here; test/e2e/observe.test.ts writes real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, findingsAcrossChecks, warningOutcome, type At, type CommandRun } from '../../src/report/model.js';
import type { JournalRecord } from '../../src/journal/journal.js';
import type { ClusterOutcome, Outcome } from '../../src/events.js';

const at = (s: number): string => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
function rec(s: number, run: string, command: string, event: JournalRecord['event'], database = 'app'): JournalRecord {
  return { v: 1, time: at(s), run, command, database, event };
}
const start = (s: number, run: string, command: string, args: string[] = ['app']) => rec(s, run, command, { type: 'command', state: 'start', pgshift: '0.1.0', pid: 1, args, flags: {} });
const end = (s: number, run: string, command: string, exitCode: number, code?: string) =>
  rec(s, run, command, { type: 'command', state: 'end', ms: 1000, exitCode, ...(code ? { error: { code, message: 'm' } } : {}) });

const cluster = (version: string): ClusterOutcome => ({ version, systemIdentifier: '1', role: 'postgres', settings: {} });
type Finding = (Outcome & { kind: 'check' })['findings'][number];
const finding = (id: string, over: Partial<Finding> = {}): Finding => ({ id, severity: 'warn', side: 'source', title: `${id} title`, objects: ['public.t'], objectCount: 1, ...over });
const check = (s: number, findings: Finding[]): At<Outcome & { kind: 'check' }> => ({
  kind: 'check', ok: true, databases: ['app'], source: cluster('14.1'), target: cluster('18.0'), findings, at: at(s), run: `c${s}`,
});

test('a command\'s timeline: steps from their start record, in time order, with the result folded into its own step line', () => {
  const before = (s: number, ms: number): string => new Date(Date.parse(at(s)) - ms).toISOString();
  const m = buildReport('app', [
    end(13, 'r1', 'run', 0),
    start(0, 'r1', 'run'),
    rec(1, 'r1', 'run', { type: 'step', step: 'schema', state: 'start' }),
    // No start record: the step began ms before its end.
    rec(3, 'r1', 'run', { type: 'step', step: 'roles', state: 'done', ms: 500 }),
    // The start record wins over the duration (which leaves out waiting for a lock, say).
    rec(9, 'r1', 'run', { type: 'step', step: 'schema', state: 'done', ms: 7000 }),
    rec(10, 'r1', 'run', { type: 'step', step: 'start', state: 'fail', ms: 1500, message: 'boom' }),
    rec(11, 'r1', 'run', { type: 'step', step: 'check app', state: 'done', ms: 10 }),
    rec(12, 'r1', 'run', { type: 'step', step: 'check', state: 'done', ms: 500 }),
    rec(12, 'r1', 'run', { type: 'result', data: { kind: 'check', ok: false, databases: ['app'], source: cluster('14.1'), target: cluster('18.0'), findings: [finding('a', { severity: 'fail' })] } }),
    rec(5, 'other', 'run', { type: 'step', step: 'schema', state: 'done' }, 'elsewhere'),
  ], { now: new Date(at(100)) });
  assert.equal(m.records, 9, 'only the database\'s own records');
  assert.equal(m.first, at(0));
  assert.equal(m.runs.length, 1);
  const r = m.runs[0]!;
  assert.equal(r.verdict, 'ok');
  assert.deepEqual(r.items.map((i) => [i.at, i.what, i.verdict, i.detail]), [
    [at(1), 'schema', 'ok', undefined],
    [before(3, 500), 'roles', 'ok', undefined],
    [before(10, 1500), 'start', 'fail', 'boom'],
    [before(12, 500), 'check', 'fail', '1 fail, 0 warn; PostgreSQL 14.1 -> 18.0'],
  ]);
  assert.deepEqual(m.versions, { source: '14.1', target: '18.0' });
  assert.equal(m.clusters?.run, 'r1');
});

test('status runs only look: counted, not in the timeline; their looks make the lag series', () => {
  const look = (s: number) => rec(s, 's1', 'status', {
    type: 'status', data: {
      database: 'app', time: at(s), phase: 'streaming', sourceVersion: '13.1', targetVersion: '17.1', tablesReady: 1, tablesTotal: 1,
      copiedBytes: 10, lagBytes: s, lagSeconds: 0, walRetainedBytes: 0, applyErrors: 0, syncErrors: 0, problems: 0,
    },
  });
  const m = buildReport('app', [start(0, 's1', 'status'), look(1), look(4), end(5, 's1', 'status', 0), start(6, 'w', 'wait'), end(7, 'w', 'wait', 0)]);
  assert.equal(m.statusRuns, 1);
  assert.deepEqual(m.runs.map((r) => r.command), ['wait']);
  assert.deepEqual(m.series.map((s) => [s.kind, s.points.map((p) => [p.t, p.lagBytes])]), [['status', [[0, 1], [3000, 4]]]]);
  assert.deepEqual(m.versions, { source: '13.1', target: '17.1' });
});

const run = (command: string, s: number, exitCode?: number, code?: string): CommandRun => ({
  run: `${command}${s}`, command, args: [], flags: {}, at: at(s), verdict: 'ok', items: [], looks: 0,
  ...(exitCode !== undefined ? { exitCode } : {}), ...(code ? { error: { code, message: 'm' } } : {}),
});

test('a warning says what became of its command: finished, killed, or failed and whether a later run succeeded', () => {
  const failed = run('switchover', 10, 3, 'lag_too_high');
  const all = [run('wait', 1, 0), failed, run('switchover', 5, 0), run('switchover', 20, 3), run('switchover', 30, 0)];
  assert.equal(warningOutcome(all[0], all), 'wait went on and finished (exit 0)');
  assert.equal(warningOutcome(run('wait', 2), all), 'the command did not record its end (still running, or killed)');
  assert.equal(warningOutcome(undefined, all), 'the command did not record its end (still running, or killed)');
  assert.equal(warningOutcome(failed, all), `switchover failed (exit 3, lag_too_high); it succeeded when run again at ${at(30)}`);
  assert.equal(warningOutcome(run('cleanup', 9, 1), all), 'cleanup failed (exit 1)');
});

test('findings across checks: first seen, still reported by the last check, or resolved by the first check without them', () => {
  const found = findingsAcrossChecks([
    check(1, [finding('a'), finding('b', { severity: 'fail' }), finding('ok', { severity: 'ok' as Finding['severity'] }), finding('x', { database: 'other' })]),
    check(2, [finding('a', { objectCount: 3 })]),
    check(3, [finding('a'), finding('c', { database: 'app' })]),
  ], 'app');
  assert.deepEqual(found.map((f) => [f.id, f.firstSeen, f.stillReported, f.resolvedAt]), [
    ['a', at(1), true, undefined],
    ['b', at(1), false, at(2)],
    ['c', at(3), true, undefined],
  ]);
  assert.equal(found[0]!.objectCount, 1, 'the latest check\'s objects');
});
