// What the load counts and reports: only acknowledged commits are
// transactions, the longest stall is the longest gap between two of them over
// all clients, a few distinct error messages are kept. Events made up here;
// the clients themselves run against real clusters in test/e2e/load.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoadTally, loadOutcome, loadReport, nextBackoff, pickOp, FIRST_BACKOFF_MS } from '../../src/load/tally.js';

const run = { run: 'r1', database: 'app', clients: 2, durationMs: 2000, ledgerFile: '/tmp/ledger' };

test('transactions are acknowledged commits; failures are errors, not transactions', () => {
  const t = new LoadTally();
  t.acknowledged('insert', 3, 1000);
  t.acknowledged('update', 5, 1010);
  t.failed(new Error('terminating connection due to administrator command'));
  t.reconnected();
  t.acknowledged('insert', 4, 1020);
  const r = loadReport(t, run);
  assert.equal(r.transactions, 3);
  assert.equal(r.tps, 1.5);
  assert.equal(r.errors, 1);
  assert.equal(r.reconnects, 1);
  assert.deepEqual(r.byOp, { insert: 2, update: 1 });
  assert.equal(r.ledgerFile, '/tmp/ledger');
});

test('the longest stall is the longest gap between two acknowledgements, whichever client made them', () => {
  const t = new LoadTally();
  t.acknowledged('insert', 1, 1000);
  assert.equal(t.longestStallMs, 0, 'one commit is no gap');
  t.acknowledged('insert', 1, 1100);
  t.acknowledged('audit', 1, 1850); // the switchover's pause
  t.acknowledged('delete', 1, 1860);
  assert.equal(loadReport(t, run).longestStallMs, 750);
});

test('latency percentiles from the sorted latencies, rounded to 0.01 ms; none at all reads as 0', () => {
  const t = new LoadTally();
  for (let i = 100; i >= 1; i--) t.acknowledged('insert', i + 0.004, 1000 + i);
  assert.deepEqual(loadReport(t, run).latencyMs, { p50: 50, p95: 95, p99: 99, max: 100 });
  assert.deepEqual(loadReport(new LoadTally(), run).latencyMs, { p50: 0, p95: 0, p99: 0, max: 0 });
});

test('the report keeps the first line of the first five distinct error messages, cut at 200 characters', () => {
  const t = new LoadTally();
  t.failed(new Error('connection refused\nat line 2'));
  t.failed(new Error('connection refused\nat line 3'));
  t.failed(new Error('x'.repeat(300)));
  for (const m of ['a', 'b', 'c', 'd']) t.failed(new Error(m));
  t.failed('a plain string');
  const r = loadReport(t, run);
  assert.equal(r.errors, 8);
  assert.deepEqual(r.errorSamples, ['connection refused', 'x'.repeat(200), 'a', 'b', 'c']);
});

test('the result event carries what the journal keeps of the report', () => {
  const t = new LoadTally();
  t.acknowledged('insert', 2, 1000);
  t.acknowledged('insert', 2, 1400);
  t.failed(new Error('boom'));
  assert.deepEqual(loadOutcome(loadReport(t, run)), {
    kind: 'load', database: 'app', clients: 2, durationMs: 2000, transactions: 2, tps: 1, errors: 1, longestStallMs: 400,
    latencyMs: { p50: 2, p95: 2, p99: 2, max: 2 },
  });
});

test('retries back off from 20 ms, doubling to at most a second; the mix is mostly inserts and updates', () => {
  const waits = [FIRST_BACKOFF_MS];
  while (waits.length < 8) waits.push(nextBackoff(waits[waits.length - 1]!));
  assert.deepEqual(waits, [20, 40, 80, 160, 320, 640, 1000, 1000]);
  assert.deepEqual([0, 0.39, 0.4, 0.74, 0.75, 0.89, 0.9, 0.999].map(pickOp), ['insert', 'insert', 'update', 'update', 'delete', 'delete', 'audit', 'audit']);
});
