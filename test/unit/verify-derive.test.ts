// What verify decides around its reads: which tables it compares, when it
// waits for replication, which tables it leaves to the switchover or a
// rollback, and what a finished comparison reports. Tables and results are
// made up here; the reads run against real clusters in test/e2e/verify.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deferredBecause, emptyResult, liveReplication, settleResults, tablesToCompare, verifyOutcome } from '../../src/verify/derive.js';
import type { TableInfo } from '../../src/pg/catalog.js';
import type { TableResult, VerifyReport } from '../../src/verify/report.js';
import { namesFor } from '../../src/replication/names.js';
import { UsageError } from '../../src/errors.js';

function table(name: string, over: Partial<TableInfo> = {}): TableInfo {
  return {
    schema: 'public', name, oid: 1, relkind: 'r', persistence: 'p', isPartition: false, replident: 'd', hasPk: true,
    replidentIndex: null, extension: null, estRows: 10, bytes: 8192, ...over,
  };
}
const keys = (ts: TableInfo[]) => ts.map((t) => `${t.schema}.${t.name}`);

const orders = table('orders');
const audit = table('audit', { schema: 'log' });
const cache = table('cache', { persistence: 'u' });
const measurements = table('measurements', { relkind: 'p' });
const part = table('measurements_2026', { isPartition: true });
const extTable = table('spatial_ref_sys', { extension: 'postgis' });
const all = [orders, audit, cache, measurements, part, extTable];

test('verify compares what pgshift replicates, partitions through their root, and the unlogged tables the switchover copies', () => {
  assert.deepEqual(keys(tablesToCompare(all, [], undefined, 'app')), ['public.orders', 'log.audit', 'public.cache', 'public.measurements']);
  assert.deepEqual(keys(tablesToCompare(all, ['log.*', 'public.cache'], undefined, 'app')), ['public.orders', 'public.measurements']);
});

test('--tables narrows the comparison; a pattern that matches nothing is refused, naming it and the database', () => {
  assert.deepEqual(keys(tablesToCompare(all, [], ['log.*', 'public.orders'], 'app')), ['public.orders', 'log.audit']);
  assert.throws(() => tablesToCompare(all, ['log.*'], ['log.audit'], 'app'), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(e.message, '--tables: "log.audit" matches no replicated table in database app');
    assert.match(e.hint ?? '', /schema\.table/);
    return true;
  });
  // An extension's table is not replicated, so not comparable either.
  assert.throws(() => tablesToCompare(all, [], ['public.spatial_ref_sys'], 'app'), UsageError);
});

test('a streaming slot makes verify wait for the receiving side; an idle one only warns', () => {
  const names = namesFor('app');
  const idle = { exists: true, active: false };
  const streaming = { exists: true, active: true };
  const gone = { exists: false, active: false };
  assert.deepEqual(liveReplication(names, { forward: streaming }, 500), { live: { direction: 'forward', slot: names.slot, subscription: names.subscription, timeoutMs: 500 }, warnings: [] });
  const forwardIdle = liveReplication(names, { forward: idle }, 500);
  assert.equal(forwardIdle.live, undefined);
  assert.deepEqual(forwardIdle.warnings, [`replication slot ${names.slot} exists but nothing streams from it: differences are reported without waiting for the target to catch up`]);
  // After a switchover the writes go to the target and come back through the reverse slot.
  assert.deepEqual(liveReplication(names, { forward: gone, reverse: streaming }, 500).live, { direction: 'reverse', slot: names.reverseSlot, subscription: names.reverseSubscription, timeoutMs: 500 });
  const reverseIdle = liveReplication(names, { forward: gone, reverse: idle }, 500);
  assert.equal(reverseIdle.live, undefined);
  assert.match(reverseIdle.warnings[0]!, /^reverse replication slot .* exists on the target but nothing streams from it/);
  assert.deepEqual(liveReplication(names, { forward: gone, reverse: gone }, 500), { warnings: [] });
});

test('while forward replication runs, tables it does not carry are left to the switchover, not reported missing', () => {
  const noIdentity = new Set(['public.orders', 'public.measurements']);
  assert.equal(deferredBecause(cache, true, noIdentity), 'unlogged table');
  assert.equal(deferredBecause(orders, true, noIdentity), 'no usable replica identity, see pgshift check');
  assert.equal(deferredBecause(measurements, true, noIdentity), 'no usable replica identity on a partition, see pgshift check');
  assert.equal(deferredBecause(audit, true, noIdentity), undefined);
  // No forward slot (before start, or after the switchover copied them): compared like any table.
  assert.equal(deferredBecause(cache, false, noIdentity), undefined);
  assert.equal(deferredBecause(orders, false, noIdentity), undefined);
});

const result = (t: TableInfo, over: Partial<TableResult> = {}): TableResult => ({ ...emptyResult(t, 'ranges'), ...over });

test('a table is the same unless a difference was counted or a problem named; unsettled rows are warned about by number', () => {
  const { tables, warnings } = settleResults([
    result(orders, { status: 'differs', differenceCount: 0 }),
    result(audit, { unsettledRows: 1 }),
    result(measurements, { unsettledRows: 3 }),
    result(cache, { unsettledRows: 1, method: 'whole' }),
  ], new Set(), new Set());
  assert.deepEqual(tables.map((r) => r.status), ['same', 'unsettled', 'unsettled', 'unsettled']);
  assert.deepEqual(warnings, [
    'log.audit: 1 row kept changing on the source through 4 re-checks and could not be compared; verify again when writes pause (e.g. after switchover)',
    'public.measurements: 3 rows kept changing on the source through 4 re-checks and could not be compared; verify again when writes pause (e.g. after switchover)',
    'public.cache: the table kept changing on the source through 4 re-checks and could not be compared; verify again when writes pause (e.g. after switchover)',
  ]);
});

test('a real difference stays a difference; one that may be lag says so', () => {
  const { tables, warnings } = settleResults([
    result(orders, { status: 'differs', differenceCount: 2, unconfirmed: true }),
    result(audit, { status: 'differs', problem: '3 rows on the source, 2 on the target' }),
  ], new Set(), new Set());
  assert.deepEqual(tables.map((r) => r.status), ['differs', 'differs']);
  assert.deepEqual(warnings, ['public.orders: the target did not reach the source position within the wait; its differences may be replication lag']);
});

test('after a switchover, a table reverse replication does not carry may differ (a rollback copies it), unless its shape differs', () => {
  const back = new Set(['public.orders', 'log.audit', 'public.cache']);
  const { tables, warnings } = settleResults([
    result(orders, { status: 'differs', differenceCount: 5, problem: '5 rows on the source, 10 on the target' }),
    result(audit, { unsettledRows: 2 }),
    result(cache, { status: 'differs', differenceCount: 1, problem: 'table missing on the target' }),
    result(measurements, { status: 'differs', differenceCount: 1 }),
  ], new Set(['public.cache']), back);
  assert.deepEqual(tables.map((r) => r.status), ['deferred', 'deferred', 'differs', 'differs']);
  assert.match(tables[0]!.note!, /^changed on the target since the switchover; reverse replication does not carry it .*a rollback copies it to the source while writes are paused$/);
  assert.equal(tables[0]!.problem, undefined);
  assert.equal(tables[2]!.problem, 'table missing on the target');
  assert.deepEqual(warnings, []);
});

test('the result event lists the differing tables with their problem, the unsettled and the deferred', () => {
  const report: VerifyReport = {
    database: 'app', mode: 'full', identical: false, rows: 30, ms: 12, live: true, truncated: false, warnings: ['w'], rowHash: 'md5',
    tables: [
      result(orders, { status: 'differs', differenceCount: 2 }),
      result(audit, { status: 'differs', differenceCount: 1, problem: 'table missing on the target' }),
      result(cache, { status: 'deferred' }),
      result(measurements, { status: 'unsettled' }),
      result(part),
    ],
  };
  assert.deepEqual(verifyOutcome(report), {
    kind: 'verify', database: 'app', mode: 'full', identical: false, tables: 5, rows: 30, ms: 12, live: true,
    differing: [{ table: 'public.orders', differences: 2 }, { table: 'log.audit', differences: 1, problem: 'table missing on the target' }],
    unsettled: ['public.measurements'], deferred: ['public.cache'], warnings: ['w'],
  });
});
