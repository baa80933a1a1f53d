// The fast copy's anchor: the subscription's logical slot, created on a
// replication connection with an exported snapshot. Every copy worker reads
// the source through that snapshot, and the slot's consistent point is the
// exact position the snapshot sees; a subscription started on the slot
// streams from there, so no row is lost and none is applied twice.
//
// The snapshot lives only as long as the exporting connection stays open and
// idle (any command on it, or its end, destroys the snapshot), so the
// connection is held untouched until every worker is done.

import type { EndpointConfig } from '../config/config.js';
import { ProblemError, SqlError } from '../errors.js';
import { connect, type Db } from '../pg/connect.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';

export interface SnapshotSlot {
  slot: string;
  /** LSN from which the slot streams: everything before it is in the snapshot. */
  consistentPoint: string;
  /** Name for SET TRANSACTION SNAPSHOT, valid while `close` has not been called. */
  snapshot: string;
  /** Ends the replication connection, and with it the exported snapshot. The slot stays. */
  close(): Promise<void>;
}

export async function createSnapshotSlot(source: EndpointConfig, database: string, slot: string): Promise<SnapshotSlot> {
  const conn: Db = await connect('source', source, { database, replication: 'database', applicationName: 'pgshift fast copy' });
  try {
    // The pre-15 syntax; 15+ still accepts it. Creating it waits until every
    // transaction running on the source now has ended (to find a consistent point).
    const r = await conn.client.query<{ slot_name: string; consistent_point: string; snapshot_name: string | null }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const row = r.rows[0];
    if (!row?.snapshot_name) {
      throw new ProblemError('no_exported_snapshot', `the source created slot ${slot} but exported no snapshot`, {
        hint: `Drop the slot on the source (SELECT pg_drop_replication_slot(${quoteLiteral(slot)})) and run start again.`,
      });
    }
    let closed = false;
    return {
      slot: row.slot_name,
      consistentPoint: row.consistent_point,
      snapshot: row.snapshot_name,
      async close() {
        if (closed) return;
        closed = true;
        await conn.close();
      },
    };
  } catch (e) {
    await conn.close();
    if (e instanceof Error && !(e instanceof ProblemError) && 'code' in e) {
      const code = (e as { code?: string }).code;
      throw new SqlError(`source: creating replication slot ${slot} failed: ${e.message}`, { sqlstate: code, side: 'source' }, {
        hint: code === '53400'
          ? 'The source has no free replication slot: raise max_replication_slots (restart needed) or drop an unused slot.'
          : 'Check that the source role has the REPLICATION attribute and that wal_level = logical ("pgshift check" reports both).',
      });
    }
    throw e;
  }
}
