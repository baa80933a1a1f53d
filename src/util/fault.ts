// Test-only fault injection. pgshift's promise is that a run killed at any
// point is finished or undone by the next one; the end-to-end tests prove it
// by killing pgshift at named points of `run`, `switchover` and `rollback`.
//
//   PGSHIFT_FAULT=after:pause                 SIGKILL right after the pause phase
//   PGSHIFT_FAULT=before:commit,after:start   any of several points
//
// Point names: "before:<name>" / "after:<name>" around every timed phase
// (src/util/phase.ts): each switchover and rollback phase
// (src/switchover/timeline.ts), each step of `run` (src/steps/step.ts) and
// each phase of the demo; "fence:<phase>" once the fence record reached that
// phase (src/switchover/state.ts), "after:start-<part>" inside start,
// "after:fast-copy-<part>" inside the fast copy (src/steps/fast-copy.ts lists
// them), and "after:deferred-check" after each deferred constraint wait adds.
//
// SIGKILL, not an exception: nothing may run after the point (no finally, no
// exit handler), exactly as when the machine or an operator kills pgshift.
// "error:<point>" throws an error there instead, for the paths where pgshift
// sees its own failure and must say how to undo what it left. "stop:<point>"
// stops the process (SIGSTOP) until the test sends SIGCONT: the test changes
// the clusters at exactly that point (e.g. blocks the apply after preflight).
// Without the variable this is one property read and a comparison; never set
// it outside tests.

import { ProblemError } from '../errors.js';

const points: ReadonlySet<string> | undefined = process.env.PGSHIFT_FAULT
  ? new Set(process.env.PGSHIFT_FAULT.split(',').map((p) => p.trim()).filter(Boolean))
  : undefined;

export function faultPoint(name: string): void {
  if (!points) return;
  if (points.has(name)) process.kill(process.pid, 'SIGKILL');
  // A failure pgshift notices (exit 1), not a bug in it (exit 5, "internal error").
  if (points.has(`error:${name}`)) throw new ProblemError('injected_fault', `injected fault at ${name} (PGSHIFT_FAULT)`);
  if (points.has(`stop:${name}`)) process.kill(process.pid, 'SIGSTOP');
}
