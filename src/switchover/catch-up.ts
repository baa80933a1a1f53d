// Catch-up: after the fence, wait until the subscriber has applied and
// flushed everything the publisher committed. The mark is a transactional
// logical message written by pgshift itself after the fence (it needs no
// table, and its synchronous commit flushes the publisher's WAL so the
// walsender sends everything at once); the proof is the slot's
// confirmed_flush_lsn on the publisher reaching it.
//
// Why the nudges: the apply worker reports a position only once its own
// (asynchronous) commits are flushed, and it sends feedback when it hears
// from the walsender. A synchronous no-op commit on the subscriber flushes
// its WAL; a fresh mark on the publisher makes the walsender speak. Without
// them the report can wait for wal_writer_delay and the keepalive timers
// (hundreds of ms); with them it takes a few ms.

import { performance } from 'node:perf_hooks';
import type { Db } from '../pg/connect.js';
import { lsnGte } from '../pg/lsn.js';
import { sqlFile } from '../pg/sql.js';
import { sleep } from '../util/wait.js';

export class CatchUpTimeout extends Error {
  constructor(readonly waitedFor: string, readonly confirmed: string | null) {
    super(`the subscriber had not applied ${waitedFor} in time (slot confirmed ${confirmed ?? 'nothing'})`);
  }
}

export interface CatchUpResult {
  /** The publisher's position after the fence that the subscriber confirmed. */
  lsn: string;
  confirmed: string;
  polls: number;
}

const POLL_MS = 2;
const NUDGE_MS = 15;

export async function markPosition(publisher: Db): Promise<string> {
  const r = await publisher.one<{ lsn: string }>("SELECT pg_catalog.pg_logical_emit_message(true, 'pgshift', 'fence')::text AS lsn");
  return r.lsn;
}

/**
 * publisher/subscriber: pgshift's sessions on the migrated database of each
 * side. slot: the slot the subscription streams from, on the publisher.
 */
export async function waitForApplied(publisher: Db, subscriber: Db, slot: string, deadline: number): Promise<CatchUpResult> {
  await publisher.query('SET synchronous_commit = on');
  await subscriber.query('SET synchronous_commit = on');
  const lsn = await markPosition(publisher);
  let polls = 0;
  let lastNudge = performance.now();
  while (true) {
    polls++;
    const row = await publisher.maybeOne<{ confirmed_flush_lsn: string | null }>(sqlFile('slot-confirmed'), [slot]);
    const confirmed = row?.confirmed_flush_lsn ?? null;
    if (confirmed && lsnGte(confirmed, lsn)) return { lsn, confirmed, polls };
    if (performance.now() > deadline) throw new CatchUpTimeout(lsn, confirmed);
    if (performance.now() - lastNudge >= NUDGE_MS) {
      lastNudge = performance.now();
      await subscriber.query('SELECT pg_catalog.txid_current()');
      await markPosition(publisher);
    }
    await sleep(POLL_MS);
  }
}
