// The one timed phase (src/util/phase.ts) and its three users: the
// switchover timeline, the step runner of `run` and the demo. Events keep
// their shapes (the CLI, the journal, tests and users read them), fault
// points fire where they did, and a failed phase is recorded as failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PgshiftEvent } from '../../src/events.js';

// fault.ts reads PGSHIFT_FAULT once, when it is loaded: set it first.
process.env.PGSHIFT_FAULT = 'error:after:fails-after,error:before:never-starts,error:after:faulty-step';
const { timedPhase } = await import('../../src/util/phase.js');
const { Timeline } = await import('../../src/switchover/timeline.js');
const { StepRunner } = await import('../../src/steps/step.js');

const injected = (e: unknown): boolean => (e as { code?: string }).code === 'injected_fault';

test('a phase sends its start and done events (with the database when given) and gives back what the work returned', async () => {
  const events: PgshiftEvent[] = [];
  const ends: unknown[] = [];
  const r = await timedPhase('copy', async () => 3, { emit: (e) => events.push(e), database: 'app', describe: (n) => `${n} rows`, onEnd: (end) => ends.push(end) });
  assert.equal(r, 3);
  assert.equal(JSON.stringify(events[0]), '{"type":"phase","phase":"copy","state":"start","database":"app"}');
  const done = events[1] as Extract<PgshiftEvent, { type: 'phase' }>;
  assert.deepEqual(Object.keys(done), ['type', 'phase', 'state', 'ms', 'message', 'database']);
  assert.deepEqual([done.state, done.message], ['done', '3 rows']);
  assert.ok(typeof done.ms === 'number' && done.ms >= 0);
  assert.equal(ends.length, 1);
  assert.equal((ends[0] as { message?: string }).message, '3 rows');
});

test('a failed phase sends a fail event with its time and the message, and throws the same error', async () => {
  const events: PgshiftEvent[] = [];
  const boom = new Error('boom');
  let ended: { error?: Error } | undefined;
  await assert.rejects(timedPhase('pause', async () => { throw boom; }, { emit: (e) => events.push(e), onEnd: (end) => (ended = end) }), (e) => e === boom);
  assert.deepEqual(events.map((e) => e.type === 'phase' && [e.state, e.message]), [['start', undefined], ['fail', 'boom']]);
  assert.equal(typeof (events[1] as { ms?: number }).ms, 'number');
  assert.equal(ended?.error, boom);
});

test('the fault points fire: before:<name> before anything starts, after:<name> after the work, failing the phase', async () => {
  const events: PgshiftEvent[] = [];
  let ran = false;
  await assert.rejects(timedPhase('never-starts', async () => { ran = true; }, { emit: (e) => events.push(e) }), injected);
  assert.equal(ran, false);
  assert.equal(events.length, 0);
  await assert.rejects(timedPhase('fails-after', async () => { ran = true; }, { emit: (e) => events.push(e) }), injected);
  assert.equal(ran, true);
  assert.deepEqual(events.map((e) => e.type === 'phase' && e.state), ['start', 'fail']);
});

test('the switchover timeline records each phase (in the pause or not, failed ones as failed) and its JSON keeps its shape', async () => {
  const events: PgshiftEvent[] = [];
  const named: string[] = [];
  const t = new Timeline((e) => events.push(e), { database: 'app', onPhase: (n) => named.push(n) });
  await t.phase('preflight', async () => undefined);
  await t.phase('pause', async () => t.pauseBegan(), () => 'pgbouncer');
  await assert.rejects(t.phase('fails-after', async () => undefined), injected);
  await t.phase('resume', async () => t.pauseEnded());
  assert.deepEqual(named, ['preflight', 'pause', 'fails-after', 'resume']);
  assert.deepEqual(t.phases.map((p) => [p.phase, p.inPause, p.message]), [
    ['preflight', false, undefined],
    ['pause', true, 'pgbouncer'],
    ['fails-after', true, 'failed: injected fault at after:fails-after (PGSHIFT_FAULT)'],
    ['resume', true, undefined],
  ]);
  assert.ok(events.every((e) => e.type === 'phase' && e.database === 'app'));
  const json = t.toJSON();
  assert.deepEqual(Object.keys(json), ['startedAt', 'phases', 'pauseMs', 'totalMs']);
  // startedAt is the wall-clock time of startMs 0 (clients' logs line up with the phases through it).
  assert.ok(Math.abs(Date.parse(json.startedAt) - Date.now()) < 60_000, json.startedAt);
  assert.deepEqual(Object.keys(json.phases[1]!), ['phase', 'startMs', 'ms', 'inPause', 'message']);
  assert.ok(json.phases.every((p, i) => i === 0 || p.startMs >= json.phases[i - 1]!.startMs));
});

test('the step runner sends step events (skip for a step found done, whole milliseconds) and fires after:<step>', async () => {
  const events: PgshiftEvent[] = [];
  const runner = new StepRunner<'done-before' | 'works' | 'faulty-step', undefined>((e) => events.push(e));
  const steps = [
    { id: 'done-before' as const, title: 'x', probe: async () => 'it was done', run: async () => assert.fail('a step found done does not run') },
    { id: 'works' as const, title: 'y', run: async () => ({ message: 'did it' }) },
    { id: 'faulty-step' as const, title: 'z', run: async () => ({}) },
  ];
  await assert.rejects(runner.runAll(steps, undefined), injected);
  assert.deepEqual(events.map((e) => e.type === 'step' && [e.step, e.state, e.message]), [
    ['done-before', 'start', undefined], ['done-before', 'skip', 'it was done'],
    ['works', 'start', undefined], ['works', 'done', 'did it'],
    ['faulty-step', 'start', undefined], ['faulty-step', 'fail', 'injected fault at after:faulty-step (PGSHIFT_FAULT)'],
  ]);
  assert.equal(JSON.stringify(events[0]), '{"type":"step","step":"done-before","state":"start"}');
  assert.ok(events.every((e) => e.type === 'step' && (e.state === 'start' || Number.isInteger(e.ms))));
  assert.deepEqual(runner.records.map((r) => [r.step, r.state, r.message, Number.isInteger(r.ms)]), [
    ['done-before', 'skip', 'it was done', true],
    ['works', 'done', 'did it', true],
  ]);
});
