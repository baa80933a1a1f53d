// The one abort check (throwIfAborted, src/errors.ts): Ctrl-C or SIGTERM
// aborts the command's signal (src/cli/main.ts), and the next safe point of a
// long operation throws AbortedError, which the CLI shows with its hint and
// exit 1. The step runner checks before each step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AbortedError, EXIT, throwIfAborted } from '../../src/errors.js';
import { StepRunner } from '../../src/steps/step.js';
import type { PgshiftEvent } from '../../src/events.js';

const isAborted = (message: string) => (e: unknown): boolean =>
  e instanceof AbortedError && e.code === 'aborted' && e.exitCode === EXIT.problem && e.message === message && /Re-run the same command/.test(e.hint ?? '');

test('throwIfAborted is silent until the signal is aborted, then throws AbortedError (exit 1) naming what stopped', () => {
  throwIfAborted(undefined, 'start');
  const c = new AbortController();
  throwIfAborted(c.signal, 'start');
  c.abort();
  assert.throws(() => throwIfAborted(c.signal, 'fast copy'), isAborted('fast copy interrupted'));
});

test('the step runner checks the signal before each step: an aborted run starts nothing more', async () => {
  const c = new AbortController();
  const events: PgshiftEvent[] = [];
  const ran: string[] = [];
  const runner = new StepRunner<'one' | 'two', undefined>((e) => events.push(e), c.signal);
  const step = (id: 'one' | 'two') => ({ id, title: id, run: async () => { ran.push(id); if (id === 'one') c.abort(); return {}; } });
  await assert.rejects(runner.runAll([step('one'), step('two')], undefined), isAborted('two interrupted'));
  assert.deepEqual(ran, ['one']);
  assert.deepEqual(events.map((e) => e.type === 'step' && `${e.step} ${e.state}`), ['one start', 'one done']);
  assert.deepEqual(runner.records.map((r) => [r.step, r.state]), [['one', 'done']]);
});
