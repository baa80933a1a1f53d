// A verify worker's pair of connections (one per side, both verified by
// connect()) and the two ways it reads the same thing on both sides:
// in parallel (the fast path), or, on a live source, as a "sandwich": read
// the source, note its WAL position, wait until the subscription has
// confirmed that position, read the target, read the source again. A
// difference that survives this is real, not replication lag. After a
// switchover the writes go to the target and reverse replication carries
// them to the source: the sandwich is then read the other way round.

import type { EndpointConfig } from '../config/config.js';
import { connect, type Db, type QueryResultRow } from '../pg/connect.js';
import { lsnGte } from '../pg/lsn.js';
import { ProblemError } from '../errors.js';
import { sleep } from '../util/wait.js';
import { sessionSettingsSql, type SqlText } from './canonical.js';

/** Re-checks of a value that keeps changing on a live source before it is called unsettled. */
export const VERIFY_ROUNDS = 4;

export interface LiveSlot {
  /**
   * forward: the source takes writes, the slot is on the source and the
   * subscription on the target; reverse (after a switchover): the other way.
   */
  direction: 'forward' | 'reverse';
  /** The writing side's slot, whose confirmed_flush_lsn says what the other side has applied. */
  slot: string;
  /** The subscription on the receiving side, whose replication origin records the last applied commit. */
  subscription: string;
  /** How long to wait for the target to reach a source position before giving up. */
  timeoutMs: number;
}

export class VerifyPair {
  private constructor(readonly source: Db, readonly target: Db, public live: LiveSlot | undefined) {}

  static async open(source: EndpointConfig, target: EndpointConfig, database: string, live: LiveSlot | undefined): Promise<VerifyPair> {
    const opts = { database, applicationName: 'pgshift verify' };
    const [s, t] = await Promise.allSettled([connect('source', source, opts), connect('target', target, opts)]);
    if (s.status === 'rejected' || t.status === 'rejected') {
      if (s.status === 'fulfilled') await s.value.close();
      if (t.status === 'fulfilled') await t.value.close();
      throw s.status === 'rejected' ? s.reason : (t as PromiseRejectedResult).reason;
    }
    const pair = new VerifyPair(s.value, t.value, live);
    try {
      await Promise.all([
        s.value.query(sessionSettingsSql(s.value.version, t.value.version)),
        t.value.query(sessionSettingsSql(t.value.version, s.value.version)),
      ]);
    } catch (e) {
      await pair.close();
      throw e;
    }
    return pair;
  }

  async close(): Promise<void> {
    await Promise.all([this.source.close(), this.target.close()]);
  }

  /** The same question to both sides at once. */
  async both<T extends QueryResultRow>(src: SqlText, tgt: SqlText): Promise<[T[], T[]]> {
    return Promise.all([this.source.query<T>(src.text, src.params), this.target.query<T>(tgt.text, tgt.params)]);
  }

  /**
   * The same question asked source, target, source: the target only once it
   * has applied everything the first source read could see. If the target's
   * answer equals either source answer, the two sides agree; if both source
   * answers are equal and the target's is not, the difference is real; if the
   * source changed in between, the caller asks again (see settle()).
   * Without a live slot: both sides at once, and s2 is s1.
   */
  async sandwich<T extends QueryResultRow>(src: SqlText, tgt: SqlText): Promise<{ s1: T[]; t: T[]; s2: T[]; confirmed: boolean }> {
    if (!this.live) {
      const [s1, t] = await this.both<T>(src, tgt);
      return { s1, t, s2: s1, confirmed: true };
    }
    // lead: the side taking writes, read twice; follow: the side replication fills.
    const [lead, leadSql, follow, followSql] = this.live.direction === 'forward'
      ? [this.source, src, this.target, tgt] as const
      : [this.target, tgt, this.source, src] as const;
    const s1 = await lead.query<T>(leadSql.text, leadSql.params);
    // Every commit the first read saw is before this position. The insert
    // position, not pg_current_wal_lsn (the write position): with
    // synchronous_commit off a commit is visible before its WAL is written.
    const { lsn } = await lead.one<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const confirmed = await this.waitForFollower(lead, follow, lsn);
    const t = await follow.query<T>(followSql.text, followSql.params);
    const s2 = await lead.query<T>(leadSql.text, leadSql.params);
    // s1/s2 are the writing side's reads, t the other side's (settle() puts them back).
    return { s1, t, s2, confirmed };
  }

  /** Re-check rounds before a value that keeps changing on the source is called unsettled. */
  readonly rounds = VERIFY_ROUNDS;

  /**
   * Until the target has applied `lsn`. Two signals, whichever comes first:
   * the target's replication origin (remote_lsn: the end of the last source
   * commit applied, updated at every applied commit, so quick under load), and
   * the slot's confirmed_flush_lsn (moves past idle WAL too, but only when the
   * subscriber sends feedback, which a busy subscriber does rarely).
   */
  private async waitForFollower(lead: Db, follow: Db, lsn: string): Promise<boolean> {
    const live = this.live!;
    const deadline = Date.now() + live.timeoutMs;
    let interval = 5;
    while (true) {
      const r = await lead.maybeOne<{ confirmed: string | null; active: boolean }>(
        'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1',
        [live.slot],
      );
      if (!r) throw new ProblemError('slot_gone', `replication slot ${live.slot} disappeared from the ${live.direction === 'forward' ? 'source' : 'target'} during verify`, {
        hint: 'Something dropped the subscription while verify ran; re-run verify once replication is in the state you expect.',
      });
      if (r.confirmed && lsnGte(r.confirmed, lsn)) return true;
      if (this.originReadable) {
        try {
          const o = await follow.maybeOne<{ applied: string | null }>(
            "SELECT max(s.remote_lsn)::text AS applied FROM pg_catalog.pg_replication_origin_status s JOIN pg_catalog.pg_subscription sub ON s.external_id = 'pg_' || sub.oid WHERE sub.subname = $1",
            [live.subscription],
          );
          if (o?.applied && lsnGte(o.applied, lsn)) return true;
        } catch {
          // Not allowed to read replication origins: the slot alone decides.
          this.originReadable = false;
        }
      }
      // A slot nobody streams from never moves: waiting would only delay the report.
      if (!r.active || Date.now() > deadline) return false;
      await sleep(interval);
      interval = Math.min(interval * 2, 100);
    }
  }

  private originReadable = true;
}

/** The slot verify waits on: pgshift's own for this database when it is being streamed. */
export async function findLiveSlot(source: Db, slotName: string): Promise<{ exists: boolean; active: boolean }> {
  const r = await source.maybeOne<{ active: boolean }>(
    "SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND slot_type = 'logical' AND database = current_database()",
    [slotName],
  );
  return { exists: r !== undefined, active: r?.active ?? false };
}

export type Verdict = 'same' | 'different' | 'unsettled';

/**
 * Compare one query's answer on both sides, re-asking while the source keeps
 * changing under it. Without a live slot one parallel read decides.
 */
export async function settle<T extends QueryResultRow>(pair: VerifyPair, src: SqlText, tgt: SqlText, eq: (a: T[], b: T[]) => boolean): Promise<{ verdict: Verdict; s: T[]; t: T[]; confirmed: boolean }> {
  // The sandwich reads the writing side twice (s1, s2) and the other once (t);
  // after a switchover the writing side is the target: put the answers back per side.
  const reverse = pair.live?.direction === 'reverse';
  const answer = (verdict: Verdict, r: { s2: T[]; t: T[]; confirmed: boolean }) =>
    reverse ? { verdict, s: r.t, t: r.s2, confirmed: r.confirmed } : { verdict, s: r.s2, t: r.t, confirmed: r.confirmed };
  let last: { s1: T[]; t: T[]; s2: T[]; confirmed: boolean } | undefined;
  // A difference must show twice in a row: the receiving side's replication
  // origin advances inside the applying transaction's commit, a moment before
  // its rows become visible, so one read can come just too early.
  let differentBefore = false;
  for (let round = 0; round < pair.rounds; round++) {
    const r = await pair.sandwich<T>(src, tgt);
    last = r;
    if (eq(r.t, r.s1) || eq(r.t, r.s2)) return answer('same', r);
    const different = eq(r.s1, r.s2);
    if (different && (differentBefore || !pair.live)) return answer('different', r);
    differentBefore = different;
  }
  return answer(differentBefore ? 'different' : 'unsettled', last!);
}
