// Catch-up: after the fence, prove that the subscriber has applied, and made
// durable, everything the publisher committed before it. docs/switchover.md
// ("Why catch-up is safe") gives the whole argument; in short:
//
//  1. The mark: pgshift commits a transactional logical message on the
//     publisher after the fence, synchronously (so its WAL, and every commit
//     before it, is flushed and the walsender may send it). Its LSN (the end
//     of the message record) is above the end of every client commit.
//  2. The walsender decodes in WAL order and puts each transaction on the wire
//     before it moves on; once it has decoded past the mark it says so: before
//     15 with the mark's own (empty) BEGIN/COMMIT, from 15 on (pgoutput skips
//     empty transactions) with a keepalive carrying its position, which it
//     sends when it waits for WAL and the subscriber has not reported that far.
//  3. The leader apply worker reads messages one at a time and applies each
//     before reading the next (a streamed transaction's commit waits for its
//     parallel worker, 16+), and records the position of every message it
//     reads as pg_stat_subscription.received_lsn. received_lsn >= mark
//     therefore means every transaction before the mark has been applied and
//     committed on the subscriber.
//  4. Those commits are asynchronous (subscriptions commit with
//     synchronous_commit = off): a synchronous commit on the subscriber,
//     started after step 3 was seen, flushes the WAL up to its own commit
//     record, which lies after theirs. Then they are durable.
//
// Why not the slot's confirmed_flush_lsn (the publisher's view, used before):
// the apply worker reports it only when it next wakes up after the WAL writer
// flushed its commits, which took 200-400 ms under load. Why not
// pg_replication_origin_status.remote_lsn alone: it moves only on a
// transaction that changed a published table, so there is no value known in
// advance to wait for (and the view is superuser-only).
//
// waitForConfirmed is the publisher-side proof (the slot's
// confirmed_flush_lsn), used where no pause is running: the preflight's probe
// that the apply worker makes progress, and the check that reverse
// replication works after a switchover.

import { performance } from 'node:perf_hooks';
import type { Db } from '../pg/connect.js';
import { lsnGte } from '../pg/lsn.js';
import { sqlFile } from '../pg/sql.js';
import { pastDeadline, sleep, type Deadline } from '../util/wait.js';

export class CatchUpTimeout extends Error {
  constructor(readonly waitedFor: string, readonly confirmed: string | null, what = 'slot confirmed') {
    super(`the subscriber had not applied ${waitedFor} in time (${what} ${confirmed ?? 'nothing'})`);
  }
}

export interface CatchUpResult {
  /** The publisher's position after the fence (the mark) that the subscriber applied. */
  lsn: string;
  /** Where the subscriber's apply worker had read to (>= lsn), or the slot's confirmed position. */
  confirmed: string;
  polls: number;
  /** Milliseconds until the apply worker had read past the mark, and the flush after it took. */
  appliedMs?: number;
  flushMs?: number;
}

const POLL_MS = 1;
const NUDGE_MS = 20;
const CONFIRM_POLL_MS = 2;
const CONFIRM_NUDGE_MS = 15;

export async function markPosition(publisher: Db): Promise<string> {
  const r = await publisher.one<{ lsn: string }>("SELECT pg_catalog.pg_logical_emit_message(true, 'pgshift', 'fence')::text AS lsn");
  return r.lsn;
}

/**
 * Make both sessions commit synchronously: the mark must be flushed before the
 * walsender can send it, and the subscriber's flush is the durability step.
 * Called before the pause, so the pause spends no round trip on it.
 */
export async function prepareCatchUp(publisher: Db, subscriber: Db): Promise<void> {
  await Promise.all([publisher.query('SET synchronous_commit = on'), subscriber.query('SET synchronous_commit = on')]);
}

/**
 * Wait until the subscriber has applied everything the publisher committed
 * before now, then make it durable there (see the file header).
 * publisher/subscriber: pgshift's sessions on the migrated database of each
 * side, prepared by prepareCatchUp. subscription: the subscription that feeds
 * the subscriber.
 */
export async function waitForApplied(publisher: Db, subscriber: Db, subscription: string, deadline: Deadline): Promise<CatchUpResult> {
  const t0 = performance.now();
  const lsn = await markPosition(publisher);
  let polls = 0;
  let lastNudge = performance.now();
  let received: string;
  while (true) {
    polls++;
    const row = await subscriber.maybeOne<{ received_lsn: string | null }>(sqlFile('subscription-received'), [subscription]);
    const got = row?.received_lsn ?? null;
    if (got && lsnGte(got, lsn)) {
      received = got;
      break;
    }
    if (pastDeadline(deadline)) throw new CatchUpTimeout(lsn, got, 'its apply worker had read up to');
    if (performance.now() - lastNudge >= NUDGE_MS) {
      // A later mark makes the walsender speak again (a keepalive from 15 on,
      // an empty transaction before), should the first word have been missed
      // (a worker that restarted, a keepalive held back by a pending ping).
      lastNudge = performance.now();
      await markPosition(publisher);
    }
    await sleep(POLL_MS);
  }
  const t1 = performance.now();
  // The apply worker's commits were asynchronous: this synchronous commit
  // flushes the subscriber's WAL past all of them (it holds an xid, so it
  // writes a commit record, and waits for its flush).
  await subscriber.query('SELECT pg_catalog.txid_current()');
  const t2 = performance.now();
  return { lsn, confirmed: received, polls, appliedMs: t1 - t0, flushMs: t2 - t1 };
}

/**
 * The publisher-side proof: wait until the slot's confirmed_flush_lsn passes a
 * fresh mark (the subscriber reports a position only once its commits up to it
 * are flushed). Slower than waitForApplied; for checks outside the pause.
 * The nudges: a synchronous no-op commit on the subscriber flushes its WAL;
 * a fresh mark on the publisher makes the walsender speak, so the apply
 * worker wakes and reports.
 */
export async function waitForConfirmed(publisher: Db, subscriber: Db, slot: string, deadline: number): Promise<CatchUpResult> {
  await prepareCatchUp(publisher, subscriber);
  const lsn = await markPosition(publisher);
  let polls = 0;
  let lastNudge = performance.now();
  while (true) {
    polls++;
    const row = await publisher.maybeOne<{ confirmed_flush_lsn: string | null }>(sqlFile('slot-confirmed'), [slot]);
    const confirmed = row?.confirmed_flush_lsn ?? null;
    if (confirmed && lsnGte(confirmed, lsn)) return { lsn, confirmed, polls };
    if (performance.now() > deadline) throw new CatchUpTimeout(lsn, confirmed);
    if (performance.now() - lastNudge >= CONFIRM_NUDGE_MS) {
      lastNudge = performance.now();
      await subscriber.query('SELECT pg_catalog.txid_current()');
      await markPosition(publisher);
    }
    await sleep(CONFIRM_POLL_MS);
  }
}
