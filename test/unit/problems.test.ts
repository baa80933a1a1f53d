// Problems and warnings as data: every code documented (docs/problems.md
// lists exactly the codes src/problems.ts declares), warn events made by one
// helper, and rendered as message then fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { STATUS_PROBLEM_CODES, WARNING_CODES, problem, problemText } from '../../src/problems.js';
import { warnEvent, warning } from '../../src/events.js';
import { Output } from '../../src/cli/output.js';

const doc = readFileSync(new URL('../../../docs/problems.md', import.meta.url), 'utf8');

/** The codes of the table under a "## heading" of docs/problems.md. */
function documented(heading: string): string[] {
  const start = doc.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `docs/problems.md has no "## ${heading}"`);
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

test('every status problem code and every warning code is documented, and nothing else', () => {
  for (const [heading, codes] of [['Status problems', STATUS_PROBLEM_CODES], ['Warnings', WARNING_CODES]] as const) {
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

test('warn events: the problem\'s fields, the database when the move is about several, data kept', () => {
  assert.deepEqual(warning('sequences_missing', 'sequences missing on the target: s1'), { type: 'warn', code: 'sequences_missing', message: 'sequences missing on the target: s1' });
  assert.deepEqual(warning('analyze_table_failed', 'ANALYZE t failed', undefined, { table: 't' }), { type: 'warn', code: 'analyze_table_failed', message: 'ANALYZE t failed', data: { table: 't' } });
  const p = problem('pgbouncer_pool_mode', 'PgBouncer pool_mode is session', 'use transaction pooling');
  assert.deepEqual(warnEvent(p, { database: 'shop' }), { type: 'warn', ...p, database: 'shop' });
});

test('a warning is printed as its message, the database first when named, then its fix', () => {
  const err = new PassThrough();
  const out = new Output({ json: false, stderr: err, stdout: new PassThrough() });
  out.event(warnEvent(problem('pgbouncer_pool_mode', 'PgBouncer pool_mode is session', 'use transaction pooling'), { database: 'shop' }));
  out.event(warning('table_not_replicated', 'public.t is not replicated'));
  assert.equal((err.read() as Buffer).toString(), 'warning: shop: PgBouncer pool_mode is session\n         fix: use transaction pooling\nwarning: public.t is not replicated\n');
});

test('--json: a warning reaches stderr as an event with its code and fix', () => {
  const err = new PassThrough();
  const out = new Output({ json: true, stderr: err, stdout: new PassThrough() });
  out.event(warning('tables_never_analyzed', '2 tables never analyzed', 'run "pgshift analyze app"'));
  const e = JSON.parse((err.read() as Buffer).toString()) as Record<string, unknown>;
  assert.equal(e.formatVersion, 2);
  assert.equal(e.event, 'warn');
  assert.equal(e.code, 'tables_never_analyzed');
  assert.equal(e.fix, 'run "pgshift analyze app"');
});
