// Pure pieces of start / wait: subscription options per version pair, the
// subscription's connection string, byte sizes, and when wait is done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscriptionConninfo } from '../../src/replication/subscription.js';
import { parseConninfo } from '../../src/config/conninfo.js';
import { parseBytes } from '../../src/cli/commands/wait.js';
import { hopeless, isCaughtUp } from '../../src/steps/wait.js';
import type { Config } from '../../src/config/config.js';
import { versionFromNum } from '../../src/pg/version.js';
import { subscriptionOptions } from '../../src/replication/subscription.js';
import { type DatabaseStatus } from '../../src/status/model.js';

const v = (major: number) => versionFromNum(major * 10000 + 1);

test('subscription options follow both versions', () => {
  assert.deepEqual(subscriptionOptions(v(12), v(17), 'pgshift_x'), ["slot_name = 'pgshift_x'", 'create_slot = true', 'copy_data = true', 'enabled = true']);
  assert.deepEqual(subscriptionOptions(v(13), v(14), 's').slice(4), []);
  assert.deepEqual(subscriptionOptions(v(14), v(18), 's').slice(4), ['streaming = on']);
  // disable_on_error would stop replication for good on a network blip (wait handles real error loops).
  assert.ok(!subscriptionOptions(v(17), v(18), 's').some((o) => o.startsWith('disable_on_error')));
  assert.ok(subscriptionOptions(v(16), v(16), 's').includes('binary = true'));
  assert.ok(!subscriptionOptions(v(16), v(17), 's').includes('binary = true'));
});

function config(source: string, password?: string, peer?: string): Config {
  return {
    file: 't.yml',
    source: { conn: parseConninfo(source), password, systemIdentifier: '1', connFromPeer: peer ? parseConninfo(peer) : undefined },
    target: { conn: parseConninfo('host=t'), systemIdentifier: '2' },
    databases: new Map(),
    switchover: { pause: 'revoke', maxPauseMs: 5000, reverse: true },
  };
}

test('the subscription connection string: peer conn, database, password only for the same user, all quoted', () => {
  const pw = `a' \\ b"; %`;
  const c = subscriptionConninfo(config('host=src user=postgres', pw), "my 'db'");
  assert.deepEqual(parseConninfo(c.conninfo), { host: 'src', user: 'postgres', dbname: "my 'db'", password: pw });
  assert.ok(c.hasPassword);
  assert.ok(!JSON.stringify(c.shown).includes(pw));
  assert.match(c.literal, /^E'/);
  const peer = subscriptionConninfo(config('host=src user=postgres', pw, 'host=src.internal user=replicator'), 'db');
  assert.deepEqual(parseConninfo(peer.conninfo), { host: 'src.internal', user: 'replicator', dbname: 'db' });
  assert.equal(peer.hasPassword, false);
  const samePeer = subscriptionConninfo(config('host=src user=postgres', pw, 'host=src.internal'), 'db');
  assert.equal(parseConninfo(samePeer.conninfo).password, pw);
});

test('a conn_from_target without sslmode keeps the source conn\'s TLS settings; one with sslmode keeps its own', () => {
  const tls = 'host=src user=postgres sslmode=verify-full sslrootcert=/etc/ca.pem';
  const inherited = parseConninfo(subscriptionConninfo(config(tls, undefined, 'host=src.internal'), 'db').conninfo);
  assert.equal(inherited.sslmode, 'verify-full');
  assert.equal(inherited.sslrootcert, '/etc/ca.pem');
  assert.equal(inherited.host, 'src.internal');
  const own = parseConninfo(subscriptionConninfo(config(tls, undefined, 'host=src.internal sslmode=require'), 'db').conninfo);
  assert.equal(own.sslmode, 'require');
  assert.equal(own.sslrootcert, undefined);
});

test('parseBytes', () => {
  assert.equal(parseBytes('0'), 0);
  assert.equal(parseBytes('65536'), 65536);
  assert.equal(parseBytes('64kB'), 65536);
  assert.equal(parseBytes('16MB'), 16 * 1024 * 1024);
  assert.equal(parseBytes('1GiB'), 1024 ** 3);
  assert.equal(parseBytes('lots'), undefined);
  assert.equal(parseBytes('-1'), undefined);
});

function status(over: Partial<DatabaseStatus>): DatabaseStatus {
  return {
    database: 'd', time: '', phase: 'streaming', replication: 'source -> target', writesTo: 'source', rolledBack: false, source: { version: '', lsn: '0/0' }, target: { version: '', databaseExists: true },
    publication: { name: 'p', exists: true, tables: 2 },
    subscription: { name: 's', exists: true, enabled: true, applyWorkerPid: 10 }, workers: [],
    slot: { name: 's', exists: true, active: true, walStatus: 'reserved', restartLsn: '0/0', confirmedFlushLsn: '0/0', invalidationReason: null, safeWalBytes: null },
    tables: [], tablesReady: 2, tablesTotal: 2, copiedBytes: 0, lagBytes: 10, lagSeconds: 0, walRetainedBytes: 0,
    errors: { apply: 0, sync: 0, last: null, lastDetail: null, lastRelation: null, lastAt: null }, drift: null, problems: [], reverse: null, ...over,
  };
}

test('caught up only with every table ready, a connected worker and lag under the limit', () => {
  assert.ok(isCaughtUp(status({}), 100));
  assert.ok(!isCaughtUp(status({ lagBytes: 101 }), 100));
  assert.ok(!isCaughtUp(status({ tablesReady: 1 }), 100));
  assert.ok(!isCaughtUp(status({ tablesTotal: 1, tablesReady: 1 }), 100), 'a published table not yet subscribed');
  assert.ok(!isCaughtUp(status({ subscription: { name: 's', exists: true, enabled: true, applyWorkerPid: null } }), 100));
});

test('hopeless states give up at once with a code, decided on the problem codes status found', () => {
  const found = (code: string) => [{ code, message: `(${code})` }];
  assert.equal(hopeless(status({}), 'd'), undefined);
  assert.equal(hopeless(status({ subscription: { name: 's', exists: false, enabled: null, applyWorkerPid: null } }), 'd')?.code, 'not_started', 'no subscription is nothing to wait for, even without a problem (after a switchover)');
  const named = hopeless(status({ subscription: { name: 's', exists: false, enabled: null, applyWorkerPid: null }, problems: [{ code: 'fence_interrupted', message: 'fenced' }, ...found('subscription_missing')] }), 'd');
  assert.equal(named?.message, 'replication of "d" has not been started: (subscription_missing)', 'the missing object, not the first problem');
  assert.equal(hopeless(status({ subscription: { name: 's', exists: true, enabled: false, applyWorkerPid: null }, problems: found('subscription_disabled') }), 'd')?.code, 'subscription_disabled');
  assert.equal(hopeless(status({ slot: { name: 's', exists: false, active: null, walStatus: null, restartLsn: null, confirmedFlushLsn: null, invalidationReason: null, safeWalBytes: null }, problems: found('slot_missing') }), 'd')?.code, 'slot_missing');
  assert.equal(hopeless(status({ slot: { name: 's', exists: true, active: false, walStatus: 'lost', restartLsn: null, confirmedFlushLsn: null, invalidationReason: null, safeWalBytes: null }, problems: found('slot_lost') }), 'd')?.code, 'slot_lost');
  assert.equal(hopeless(status({ problems: [...found('slot_inactive'), ...found('slot_unreserved'), ...found('walsender_stale')] }), 'd'), undefined, 'what may heal is waited for');
});
