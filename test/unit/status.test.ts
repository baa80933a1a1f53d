// What status makes of what it read: phase, lag, direction and the problems,
// from facts made up here (the reads themselves run against real clusters
// in test/e2e/status.test.ts and the fault tests).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveStatus, type StatusFacts } from '../../src/status/derive.js';
import type { DatabaseStatus } from '../../src/status/model.js';
import { hopeless } from '../../src/steps/wait.js';
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

const codes = (s: DatabaseStatus): string[] => s.problems.map((p) => p.code);
const text = (s: DatabaseStatus): string => s.problems.map((p) => `${p.code}: ${p.message} / ${p.fix ?? ''}`).join('\n');

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
  assert.deepEqual(codes(s), ['publication_missing', 'subscription_missing']);
  assert.deepEqual(s.problems[0], { code: 'publication_missing', message: 'publication pgshift_app does not exist on the source', fix: 'run "pgshift start app"' });
  assert.deepEqual(s.problems[1], { code: 'subscription_missing', message: 'subscription pgshift_app does not exist on the target', fix: 'run "pgshift start app"' });
  const noDb = deriveStatus(facts({ targetMissing: true, subscription: undefined, tables: [], applyWorkerPid: null }));
  assert.deepEqual(codes(noDb), ['target_database_missing']);
  assert.deepEqual(noDb.problems[0], { code: 'target_database_missing', message: 'database "app" does not exist on the target', fix: 'run "pgshift schema app"' });
});

test('a disabled subscription: stopped, with the quoted ENABLE statement and the error that stopped it', () => {
  const logError = { line: 'ERROR: duplicate key', message: 'duplicate key value violates unique constraint "t_pkey"', detail: 'Key (id)=(1) already exists.', relation: 'public.t', at: null, recent: false };
  const s = deriveStatus(facts({ subscription: { ...sub, enabled: false }, logError, applyWorkerPid: null, slot: { ...slot, active: false } }));
  assert.equal(s.phase, 'stopped');
  assert.equal(s.replication, null);
  assert.deepEqual(codes(s), ['subscription_disabled', 'apply_error_stopped'], text(s));
  assert.match(s.problems[0]!.message, /^subscription pgshift_app is disabled: /);
  assert.match(s.problems[0]!.fix!, /ALTER SUBSCRIPTION "?pgshift_app"? ENABLE/);
  assert.match(s.problems[1]!.message, /Key \(id\)=\(1\) already exists.*that row is already on the target$/);
  assert.match(s.problems[1]!.fix!, /^delete or change it there, then enable the subscription/);
});

test('a slot not in use names the address the target dials; a lost slot says start again', () => {
  const idle = deriveStatus(facts({ slot: { ...slot, active: false }, applyWorkerPid: null }));
  assert.deepEqual(codes(idle), ['slot_inactive'], text(idle));
  assert.match(idle.problems[0]!.message, /not in use: no apply worker is running .* host db1 port 5432/);
  const lost = deriveStatus(facts({ slot: { ...slot, walStatus: 'lost' } }));
  assert.deepEqual(codes(lost), ['slot_lost']);
  assert.match(lost.problems[0]!.message, /^replication slot pgshift_app is lost: /);
  assert.equal(lost.problems[0]!.fix, 'run "pgshift cleanup app" and start again');
});

test('a silent walsender is a problem only past three status intervals', () => {
  const quiet = (age: number) => deriveStatus(facts({ position: { ...facts().position, reply_age_s: age } }));
  assert.deepEqual(quiet(29).problems, []);
  assert.equal(quiet(29).walsender?.stale, false);
  assert.equal(quiet(31).walsender?.stale, true);
  assert.deepEqual(codes(quiet(31)), ['walsender_stale']);
  assert.match(quiet(31).problems[0]!.message, /heard nothing from the target for 31 s/);
});

test('error counters are a problem while errors keep coming, not forever after', () => {
  const counted = { ...noErrors, apply: 3 };
  assert.deepEqual(deriveStatus(facts({ errors: counted })).problems, []);
  const rising = deriveStatus(facts({ errors: counted, countersRising: true }));
  assert.deepEqual(codes(rising), ['apply_errors_recent']);
  assert.match(rising.problems[0]!.message, /^3 apply error\(s\)/);
});

test('tables published without a usable identity, and published tables not yet subscribed', () => {
  const s = deriveStatus(facts({ unsafe: [{ schema: 'public', name: 'p1' }], sourceTables: [...facts().sourceTables, { schema: 'public', name: 'late', bytes: '8' }] }));
  assert.deepEqual(codes(s), ['replica_identity_missing', 'tables_not_subscribed']);
  assert.match(s.problems[0]!.message, /UPDATE and DELETE fail on the source for 1 table\(s\) .*public\.p1/);
  assert.match(s.problems[0]!.fix!, /run "pgshift start app" again/);
  assert.match(s.problems[1]!.message, /1 published table\(s\) not yet subscribed \(e\.g\. public\.late\)/);
  assert.equal(s.problems[1]!.fix, 'run "pgshift start app" again');
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
  assert.deepEqual(codes(broken), ['reverse_columns_missing', 'reverse_not_applying']);
  assert.match(broken.problems[0]!.message, /reverse replication target -> source is broken: public\.t\.extra/);
  assert.match(broken.problems[1]!.message, /is not applying: no apply worker/);
  const lost = deriveStatus(facts({ ...over, reverse: { ...reverse, slot: { ...reverse.slot, walStatus: 'lost' }, applyWorkerPid: null } }));
  assert.deepEqual(codes(lost), ['reverse_slot_lost'], 'a lost slot says it all');
  assert.match(lost.problems[0]!.message, /rollback is not possible/);
  assert.equal(lost.problems[0]!.fix, 'when the source is no longer needed: pgshift cleanup app');
});

test('schema drift: each kind its own code, the DDL to run as the fix', () => {
  const drift = {
    newTables: [{ schema: 'public', name: 'fresh', published: false, onTarget: false }, { schema: 'public', name: 'unpub', published: false, onTarget: true }],
    columnMismatches: [
      { table: 'public.t_ready', schema: 'public', name: 't_ready', column: 'note', sourceType: 'text', targetType: null, reason: 'column missing on the target' },
      { table: 'public.t_ready', schema: 'public', name: 't_ready', column: 'n', sourceType: 'text', targetType: 'integer', reason: 'no implicit or assignment cast from text to integer' },
    ],
  };
  const s = deriveStatus(facts({ drift }));
  assert.deepEqual(codes(s), ['drift_column_missing', 'drift_column_incompatible', 'drift_table_missing', 'drift_table_unpublished'], text(s));
  assert.equal(s.problems[0]!.fix, 'add the column on the target now: ALTER TABLE "public"."t_ready" ADD COLUMN "note" text;');
  assert.match(s.problems[2]!.message, /1 table\(s\) on the source is not on the target and not replicated: public\.fresh$/);
  assert.match(s.problems[2]!.fix!, /then run "pgshift start app" again to publish and copy it$/);
  assert.equal(s.problems[3]!.fix, 'run "pgshift start app" again to publish and copy it');
});

test('a fence an interrupted run left is a problem with its own message; a finished run\'s is not', () => {
  const fence = (phase: FenceInfo['phase']): FenceInfo => ({ side: 'source', direction: 'switchover', method: 'revoke', phase, since: '', interrupted: phase !== 'done', message: `fenced (${phase})`, undoSql: [] });
  assert.deepEqual(deriveStatus(facts({ fence: { source: fence('paused'), target: null } })).problems, [{ code: 'fence_interrupted', message: 'fenced (paused)' }]);
  assert.deepEqual(deriveStatus(facts({ fence: { source: fence('done'), target: null } })).problems, []);
});

test('wait gives up on the codes status derives, in its order', () => {
  const give = (over: Partial<StatusFacts>) => hopeless(deriveStatus(facts(over)), 'app');
  assert.equal(give({}), undefined);
  const notStarted = give({ publication: undefined, slot: undefined, subscription: undefined, tables: [], workers: [], applyWorkerPid: null, sourceTables: [] });
  assert.equal(notStarted?.code, 'not_started');
  assert.match(notStarted!.message, /has not been started: publication pgshift_app does not exist on the source$/);
  const noDb = give({ targetMissing: true, subscription: undefined, tables: [], applyWorkerPid: null });
  assert.match(noDb!.message, /has not been started: database "app" does not exist on the target$/);
  assert.equal(give({ subscription: { ...sub, enabled: false }, applyWorkerPid: null, slot: { ...slot, active: false } })?.code, 'subscription_disabled');
  assert.equal(give({ slot: undefined })?.code, 'slot_missing');
  assert.equal(give({ slot: { ...slot, walStatus: 'lost' } })?.code, 'slot_lost');
  assert.equal(give({ slot: { ...slot, walStatus: 'unreserved' } }), undefined, 'about to lose WAL: still worth waiting');
  const idle = give({ health: { walStatus: 'lost', conflicting: null, invalidationReason: 'idle_timeout', safeWalSize: null }, slot: { ...slot, walStatus: 'lost' } });
  assert.match(idle!.message, /unused for longer than idle_replication_slot_timeout/);
});
