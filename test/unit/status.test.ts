// What status makes of what it read: phase, lag, direction and the problems,
// from facts made up here (the reads themselves run against real clusters
// in test/e2e/status.test.ts and the fault tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveStatus, type StatusFacts } from '../../src/status/derive.js';
import { namesFor } from '../../src/replication/names.js';
import type { Config } from '../../src/config/config.js';
import type { SlotInfo, SubscriptionInfo } from '../../src/replication/subscription.js';
import type { FenceInfo } from '../../src/switchover/fence-status.js';

const config = { source: { conn: { host: 'db1', port: '5432' } }, target: { conn: { host: 'db2' } } } as unknown as Config;
const names = namesFor('app');
const sub: SubscriptionInfo = { oid: 1, name: names.subscription, enabled: true, slotName: names.slot, publications: [names.publication], database: 'app' };
const slot: SlotInfo = {
  name: names.slot, plugin: 'pgoutput', slotType: 'logical', database: 'app', active: true, activePid: 7,
  restartLsn: '0/1000', confirmedFlushLsn: '0/2000', walStatus: 'reserved',
} as SlotInfo;
const table = (state: 'ready' | 'init', bytes = 100) => ({ schema: 'public', name: `t_${state}`, state, stateCode: state[0]!, copy: null, sourceBytes: bytes, targetBytes: bytes });
const noErrors = { apply: 0, sync: 0, last: null, lastDetail: null, lastRelation: null, lastAt: null };

/** A healthy, streaming database; each test changes what it is about. */
function facts(over: Partial<StatusFacts> = {}): StatusFacts {
  return {
    config, database: 'app', names, time: '2026-12-05T12:00:00Z', sourceVersion: '14.1', targetVersion: '18.0', targetMissing: false,
    publication: { name: names.publication, allTables: false, viaRoot: true, tableOids: [1] },
    slot, health: undefined,
    position: { lsn: '0/2000', walsender_pid: 42, walsender_state: 'streaming', replay_lag_s: null, reply_age_s: 1 },
    sourceTables: [{ schema: 'public', name: 't_ready', bytes: '100' }],
    subscription: sub, tables: [table('ready')], workers: [{ pid: 9, table: null }], applyWorkerPid: 9, latestEndAgeS: 0.5,
    errors: noErrors, logError: null, countersRising: false, drift: null, statusIntervalS: 10,
    fence: { source: null, target: null }, unsafe: [], reverse: null,
    ...over,
  };
}

test('a caught-up subscription streams with no problems, lag 0 bytes and 0 s', () => {
  const s = deriveStatus(facts());
  assert.equal(s.phase, 'streaming');
  assert.equal(s.replication, 'source -> target');
  assert.equal(s.writesTo, 'source');
  assert.deepEqual(s.problems, []);
  assert.equal(s.lagBytes, 0);
  assert.equal(s.lagSeconds, 0);
  assert.equal(s.walRetainedBytes, 0x1000);
});

test('lag: bytes from the slot, seconds from replay_lag, else from the apply worker\'s last message', () => {
  const behind = { ...facts().position, lsn: '0/3000' };
  assert.equal(deriveStatus(facts({ position: { ...behind, replay_lag_s: 2.5 } })).lagSeconds, 2.5);
  const s = deriveStatus(facts({ position: behind, latestEndAgeS: 4 }));
  assert.equal(s.lagBytes, 0x1000);
  assert.equal(s.lagSeconds, 4);
  assert.equal(deriveStatus(facts({ slot: undefined, position: behind })).lagSeconds, null);
});

test('copying until every table is ready; bytes copied count finished tables, not waiting ones', () => {
  const s = deriveStatus(facts({ tables: [table('ready', 300), table('init', 50)], sourceTables: [{ schema: 'public', name: 't_ready', bytes: '300' }, { schema: 'public', name: 't_init', bytes: '50' }] }));
  assert.equal(s.phase, 'copying');
  assert.equal(s.tablesReady, 1);
  assert.equal(s.copiedBytes, 300);
  assert.deepEqual(s.problems, []);
});

test('before start: not started, and each missing object named with the command that makes it', () => {
  const s = deriveStatus(facts({ publication: undefined, slot: undefined, subscription: undefined, tables: [], workers: [], applyWorkerPid: null, sourceTables: [] }));
  assert.equal(s.phase, 'not started');
  assert.equal(s.replication, null);
  assert.equal(s.problems.length, 2);
  assert.match(s.problems[0]!, /publication pgshift_app does not exist on the source \(run "pgshift start app"\)/);
  assert.match(s.problems[1]!, /subscription pgshift_app does not exist on the target/);
  const noDb = deriveStatus(facts({ targetMissing: true, subscription: undefined, tables: [], applyWorkerPid: null }));
  assert.match(noDb.problems.join('\n'), /database "app" does not exist on the target \(run "pgshift schema app"\)/);
  assert.doesNotMatch(noDb.problems.join('\n'), /subscription .* does not exist/);
});

test('a disabled subscription: stopped, with the quoted ENABLE statement and the error that stopped it', () => {
  const logError = { line: 'ERROR: duplicate key', message: 'duplicate key value violates unique constraint "t_pkey"', detail: 'Key (id)=(1) already exists.', relation: 'public.t', at: null, recent: false };
  const s = deriveStatus(facts({ subscription: { ...sub, enabled: false }, logError, applyWorkerPid: null, slot: { ...slot, active: false } }));
  assert.equal(s.phase, 'stopped');
  assert.equal(s.replication, null);
  assert.match(s.problems[0]!, /is disabled: .*ALTER SUBSCRIPTION "?pgshift_app"? ENABLE/);
  assert.match(s.problems[1]!, /that row is already on the target: delete or change it there/);
  assert.equal(s.problems.length, 2, s.problems.join('\n'));
});

test('a slot not in use names the address the target dials; a lost slot says start again', () => {
  const idle = deriveStatus(facts({ slot: { ...slot, active: false }, applyWorkerPid: null }));
  assert.match(idle.problems.join('\n'), /not in use: no apply worker is running .* host db1 port 5432/);
  const lost = deriveStatus(facts({ slot: { ...slot, walStatus: 'lost' } }));
  assert.match(lost.problems.join('\n'), /is lost: .* run "pgshift cleanup app" and start again/);
});

test('a silent walsender is a problem only past three status intervals', () => {
  const quiet = (age: number) => deriveStatus(facts({ position: { ...facts().position, reply_age_s: age } }));
  assert.deepEqual(quiet(29).problems, []);
  assert.equal(quiet(29).walsender?.stale, false);
  assert.equal(quiet(31).walsender?.stale, true);
  assert.match(quiet(31).problems[0]!, /heard nothing from the target for 31 s/);
});

test('error counters are a problem while errors keep coming, not forever after', () => {
  const counted = { ...noErrors, apply: 3 };
  assert.deepEqual(deriveStatus(facts({ errors: counted })).problems, []);
  assert.match(deriveStatus(facts({ errors: counted, countersRising: true })).problems.join('\n'), /3 apply error\(s\)/);
});

test('tables published without a usable identity, and published tables not yet subscribed', () => {
  const s = deriveStatus(facts({ unsafe: [{ schema: 'public', name: 'p1' }], sourceTables: [...facts().sourceTables, { schema: 'public', name: 'late', bytes: '8' }] }));
  assert.match(s.problems[0]!, /UPDATE and DELETE fail on the source for 1 table\(s\) .*public\.p1/);
  assert.match(s.problems[1]!, /1 published table\(s\) not yet subscribed \(e\.g\. public\.late\)/);
});

test('after a switchover: writes go to the target, forward objects gone on purpose, the rollback path judged', () => {
  const done: FenceInfo = { side: 'source', direction: 'switchover', method: 'pgbouncer', phase: 'done', since: '', interrupted: false, message: '', undoSql: [] };
  const reverse = {
    subscription: { ...sub, name: names.reverseSubscription }, slot: { ...slot, name: names.reverseSlot }, health: undefined,
    applyWorkerPid: 11, targetLsn: '0/2000', columnProblems: [], logError: null, unsafe: [],
  };
  const over = { publication: undefined, slot: undefined, subscription: undefined, tables: [], applyWorkerPid: null, sourceTables: [], fence: { source: done, target: null } };
  const ok = deriveStatus(facts({ ...over, reverse }));
  assert.equal(ok.phase, 'switched over');
  assert.equal(ok.writesTo, 'target');
  assert.equal(ok.replication, 'target -> source');
  assert.equal(ok.reverse?.lagBytes, 0);
  assert.deepEqual(ok.problems, []);
  const broken = deriveStatus(facts({ ...over, reverse: { ...reverse, applyWorkerPid: null, columnProblems: ['public.t.extra: not on the source'] } }));
  assert.match(broken.problems[0]!, /reverse replication target -> source is broken: public\.t\.extra/);
  assert.match(broken.problems[1]!, /is not applying: no apply worker/);
  const lost = deriveStatus(facts({ ...over, reverse: { ...reverse, slot: { ...reverse.slot, walStatus: 'lost' }, applyWorkerPid: null } }));
  assert.equal(lost.problems.length, 1, 'a lost slot says it all');
  assert.match(lost.problems[0]!, /rollback is not possible/);
});
