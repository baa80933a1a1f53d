// Logical replication set up with plain SQL, for tests of what runs on top of
// it (verify, load-check) without depending on pgshift's own start step.
// Names follow namesFor(db), so verify finds the slot as it would in real use.

import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteIdent, quoteLiteral } from '../../src/pg/quote.js';
import { namesFor } from '../../src/replication/names.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { waitFor } from '../../src/util/wait.js';
import { slotConfirmed } from './harness.js';

export interface Replicated {
  source: EmbeddedCluster;
  target: EmbeddedCluster;
  db: string;
}

/** Run the same DDL on both sides (the target database is created first). */
export async function sameSchema(source: EmbeddedCluster, target: EmbeddedCluster, db: string, ddl: string): Promise<void> {
  await target.createDatabase(db);
  await source.sql(ddl, [], db);
  await target.sql(ddl, [], db);
}

/** Publication for all tables, subscription on the target; waits until every table is ready and caught up. */
export async function replicate(source: EmbeddedCluster, target: EmbeddedCluster, db: string): Promise<Replicated> {
  const n = namesFor(db);
  await source.sql(`CREATE PUBLICATION ${quoteIdent(n.publication)} FOR ALL TABLES`, [], db);
  const conn = formatConninfo({ ...source.params(db), password: source.password });
  await target.sql(`CREATE SUBSCRIPTION ${quoteIdent(n.subscription)} CONNECTION ${quoteLiteral(conn)} PUBLICATION ${quoteIdent(n.publication)}`, [], db);
  const r = { source, target, db };
  await waitFor(async () => {
    const [row] = await target.sql<{ pending: number }>(
      "SELECT count(*) FILTER (WHERE srsubstate <> 'r')::int AS pending FROM pg_subscription_rel", [], db);
    return row!.pending === 0;
  }, { timeoutMs: 120_000, what: 'every table ready' });
  await caughtUp(r);
  return r;
}

/** The target has confirmed everything the source has written so far. */
export async function caughtUp(r: Replicated): Promise<void> {
  await slotConfirmed(r.source, namesFor(r.db).slot);
}

/** Stop applying changes (the slot stays, inactive), so the target can be changed by hand. */
export async function pause(r: Replicated): Promise<void> {
  const n = namesFor(r.db);
  await r.target.sql(`ALTER SUBSCRIPTION ${quoteIdent(n.subscription)} DISABLE`, [], r.db);
  await waitFor(async () => {
    const [row] = await r.source.sql<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [n.slot]);
    return row?.active === false;
  }, { timeoutMs: 60_000, what: 'the slot to go inactive' });
}

/** Drop the subscription (and with it the slot on the source) and the publication. */
export async function unreplicate(r: Replicated): Promise<void> {
  const n = namesFor(r.db);
  await r.target.sql(`DROP SUBSCRIPTION IF EXISTS ${quoteIdent(n.subscription)}`, [], r.db);
  await r.source.sql(`DROP PUBLICATION IF EXISTS ${quoteIdent(n.publication)}`, [], r.db);
}
