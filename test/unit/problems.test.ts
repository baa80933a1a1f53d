// Problems as data: every code documented (docs/problems.md lists exactly
// the codes src/problems.ts declares).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { STATUS_PROBLEM_CODES, problem, problemText } from '../../src/problems.js';

const doc = readFileSync(new URL('../../../docs/problems.md', import.meta.url), 'utf8');

/** The codes of the table under a "## heading" of docs/problems.md. */
function documented(heading: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/problems.md has no "## ${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

test('every status problem code is documented, and nothing else', () => {
  for (const [heading, codes] of [['Status problems', STATUS_PROBLEM_CODES]] as const) {
    const listed = documented(heading);
    assert.equal(new Set(codes).size, codes.length, `${heading}: a code declared twice`);
    assert.equal(new Set(listed).size, listed.length, `${heading}: a code documented twice`);
    assert.deepEqual([...listed].sort(), [...codes].sort(), heading);
    for (const c of codes) assert.match(c, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${c}: not snake_case`);
  }
});

test('a problem leaves out a fix it does not have; on one line the fix follows the message', () => {
  assert.deepEqual(problem('slot_lost', 'the slot is lost'), { code: 'slot_lost', message: 'the slot is lost' });
  assert.deepEqual(problem('slot_lost', 'the slot is lost', 'start again'), { code: 'slot_lost', message: 'the slot is lost', fix: 'start again' });
  assert.equal(problemText(problem('slot_lost', 'the slot is lost', 'start again')), 'the slot is lost; start again');
  assert.equal(problemText(problem('slot_lost', 'the slot is lost')), 'the slot is lost');
});
