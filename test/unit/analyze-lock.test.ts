// Pure parts of analyze (which statements, in what order, per version) and
// of the per-database lock (its keys and the holder's application_name).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeStatements, type TargetTable } from '../../src/steps/analyze.js';
import { describeHolder, lockApplicationName, lockKeys, parseLockApplicationName } from '../../src/steps/lock.js';
import { versionFromNum } from '../../src/pg/version.js';

const T = (name: string, relkind: 'r' | 'p', isPartition: boolean, bytes: number): TargetTable => ({ schema: 'public', name, relkind, isPartition, bytes, analyzed: false });
const TABLES = [T('small', 'r', false, 10), T('m', 'p', false, 300), T('m_1', 'r', true, 100), T('m_2', 'r', true, 200), T('Big "one"', 'r', false, 1000)];

test('analyze before 18: one statement per partition tree (its root recurses), none per partition; largest first', () => {
  const s = analyzeStatements(TABLES, versionFromNum(170000), false).map((x) => x.statement);
  assert.deepEqual(s, ['ANALYZE "public"."Big ""one"""', 'ANALYZE "public"."m"', 'ANALYZE "public"."small"']);
});

test('analyze from 18: ONLY on every table, partitioned tables last', () => {
  const s = analyzeStatements(TABLES, versionFromNum(180000), false).map((x) => x.statement);
  assert.deepEqual(s, ['ANALYZE ONLY "public"."Big ""one"""', 'ANALYZE ONLY "public"."m_2"', 'ANALYZE ONLY "public"."m_1"', 'ANALYZE ONLY "public"."small"', 'ANALYZE ONLY "public"."m"']);
});

test('analyze --vacuum: VACUUM (ANALYZE) for tables, plain ANALYZE for a partitioned one (its VACUUM only recurses)', () => {
  const s = analyzeStatements(TABLES, versionFromNum(160000), true).map((x) => x.statement);
  assert.deepEqual(s, ['VACUUM (ANALYZE) "public"."Big ""one"""', 'ANALYZE "public"."m"', 'VACUUM (ANALYZE) "public"."small"']);
});

test('lock keys: pgshift\'s class, a stable int4 per database name, different names differ', () => {
  const [a1, a2] = lockKeys('app');
  assert.equal(a1, 0x70677368);
  assert.ok(Number.isInteger(a2) && a2 >= -(2 ** 31) && a2 < 2 ** 31);
  assert.deepEqual(lockKeys('app'), [a1, a2]);
  assert.notEqual(lockKeys('app2')[1], a2);
});

test('lock holder: written to application_name within 63 bytes and read back', () => {
  const since = new Date('2026-12-05T08:00:00Z');
  const name = lockApplicationName('switchover', 4242, since, 'db-admin-1.example.com');
  assert.ok(Buffer.byteLength(name) <= 63);
  const h = parseLockApplicationName(name);
  assert.deepEqual(h, { command: 'switchover', pid: 4242, since: '2026-12-05T08:00:00.000Z', host: 'db-admin-1.example.com' });
  const long = lockApplicationName('run', 1, since, 'h'.repeat(100) + 'é');
  assert.equal(long.length, 63);
  assert.equal(parseLockApplicationName(long).command, 'run');
  assert.deepEqual(parseLockApplicationName('psql'), {});
  assert.match(describeHolder({ side: 'source', backendPid: 77, ...h }), /"pgshift switchover" \(pid 4242 on host db-admin-1\.example\.com, since 2026-12-05T08:00:00\.000Z; its session is pid 77 on the source\)/);
  assert.match(describeHolder({ side: 'target', backendPid: 9 }), /not a pgshift command .*pid 9 on the target/);
});
