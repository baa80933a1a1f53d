// Replication between the sides around a switchover:
//  - prepareReverse (before the pause): the reverse publication on the target
//    and a disabled reverse subscription on the source with no slot. Creating
//    it proves the source can reach and log in to the target, and nothing it
//    does can carry a change yet.
//  - stopSubscription (inside the pause): disable the subscription that fed
//    the receiving side and wait until its apply worker is gone, so no change
//    can loop back once reverse replication runs.
//  - activateReverse (inside the pause, before writes resume): the reverse
//    slot is created on the target now, so it starts exactly at the
//    switchover point, and the reverse subscription is enabled.

import { performance } from 'node:perf_hooks';
import type { Config } from '../config/config.js';
import { peerConninfo } from '../steps/subscription.js';
import type { Db } from '../pg/connect.js';
import { listTables, tableKey } from '../pg/catalog.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import type { Emit } from '../events.js';
import { featuresOf } from '../pg/version.js';
import { sleep } from '../util/wait.js';
import { createSubscription, planPublication, publicationTablesSql } from '../steps/start.js';
import { databaseConfig } from '../config/config.js';
import type { MigrationNames } from '../steps/names.js';

export interface SubscriptionState {
  enabled: boolean;
  slot_name: string | null;
  worker_pid: number | null;
  tables: number;
  not_ready: string[];
}

export async function subscriptionState(db: Db, name: string): Promise<SubscriptionState | undefined> {
  return db.maybeOne<SubscriptionState & Record<string, unknown>>(sqlFile('switchover-subscription'), [name]);
}

export async function reverseTables(config: Config, database: string, source: Db, target: Db): Promise<{ schema: string; name: string }[]> {
  const plan = await planPublication(target, databaseConfig(config, database));
  const onSource = new Set((await listTables(source)).map(tableKey));
  return plan.tables.filter((t) => onSource.has(tableKey(t)));
}

export async function prepareReverse(config: Config, database: string, names: MigrationNames, source: Db, target: Db, emit?: Emit): Promise<{ tables: number }> {
  const tables = await reverseTables(config, database, source, target);
  const listSql = publicationTablesSql(tables);
  const pub = await target.maybeOne('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [names.reversePublication]);
  if (!pub) {
    await target.query(`CREATE PUBLICATION ${quoteIdent(names.reversePublication)}${tables.length ? ` FOR TABLE ${listSql}` : ''}`);
  } else if (tables.length) {
    await target.query(`ALTER PUBLICATION ${quoteIdent(names.reversePublication)} SET TABLE ${listSql}`);
  }
  const sub = await subscriptionState(source, names.reverseSubscription);
  if (!sub) {
    const opts = [
      `slot_name = ${quoteLiteral(names.reverseSlot)}`, 'create_slot = false', 'enabled = false', 'copy_data = false',
    ];
    // origin = none (16+ on both ends): the target's publisher skips changes
    // that came from replication, a second guard against loops.
    if (featuresOf(source.version).originNone && featuresOf(target.version).originNone) opts.push("origin = 'none'");
    // The CONNECTION may hold the target password: kept out of the source's log and of errors.
    await createSubscription(source, names.reverseSubscription, peerConninfo(config.target, database), names.reversePublication, opts, emit);
  }
  return { tables: tables.length };
}

/** Disable a subscription and wait until its workers have exited. */
export async function stopSubscription(db: Db, name: string, deadlineMs = 30_000): Promise<void> {
  await db.query(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`);
  const until = performance.now() + deadlineMs;
  while (true) {
    const r = await db.one<{ n: number }>(
      'SELECT count(*)::int AS n FROM pg_catalog.pg_stat_subscription st JOIN pg_catalog.pg_subscription s ON s.oid = st.subid WHERE s.subname = $1 AND st.pid IS NOT NULL',
      [name],
    );
    if (r.n === 0) return;
    if (performance.now() > until) throw new Error(`the apply worker of subscription ${name} did not stop`);
    await sleep(2);
  }
}

export async function activateReverse(names: MigrationNames, source: Db, target: Db): Promise<void> {
  const slot = await target.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [names.reverseSlot]);
  if (!slot) await target.query("SELECT pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')", [names.reverseSlot]);
  await source.query(`ALTER SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} ENABLE`);
}

/** Drop a subscription and, through it, its slot on the publisher. */
export async function dropSubscription(db: Db, name: string): Promise<boolean> {
  const s = await subscriptionState(db, name);
  if (!s) return false;
  if (s.enabled) await db.query(`ALTER SUBSCRIPTION ${quoteIdent(name)} DISABLE`);
  await db.query(`DROP SUBSCRIPTION ${quoteIdent(name)}`);
  return true;
}
