// Proving a fence: after writes are paused, no session of the database other
// than pgshift's may hold a transaction id, be inside a transaction or be
// running a statement, and no prepared transaction may exist. Only then can
// nothing more commit, and only then is the source's WAL position final.

import type { Db } from '../pg/connect.js';
import { sqlFile } from '../pg/sql.js';
import { pastDeadline, sleep, type Deadline } from '../util/wait.js';

export interface SessionInfo {
  pid: number;
  usename: string | null;
  application_name: string;
  client_addr: string | null;
  state: string | null;
  writing: boolean;
  superuser: boolean;
}

export interface FenceProof {
  /** Idle sessions left (they bypassed the pause method); reported, since they could start writing. */
  idle: SessionInfo[];
  checks: number;
}

export function describeSession(s: SessionInfo): string {
  return `pid ${s.pid} (${s.usename ?? '?'}${s.application_name ? `, ${s.application_name}` : ''}${s.client_addr ? ` from ${s.client_addr}` : ''}, ${s.state ?? 'unknown'})`;
}

export async function otherSessions(admin: Db, database: string, ownPids: number[]): Promise<SessionInfo[]> {
  return admin.query<SessionInfo & Record<string, unknown>>(sqlFile('fence-sessions'), [database, ownPids]);
}

export async function terminateOthers(admin: Db, database: string, ownPids: number[]): Promise<number> {
  const r = await admin.one<{ terminated: number }>(sqlFile('fence-terminate'), [database, ownPids]);
  return r.terminated;
}

export class FenceNotProven extends Error {
  constructor(readonly writers: SessionInfo[], readonly prepared: string[]) {
    super(
      [
        writers.length ? `${writers.length} session(s) still writing: ${writers.slice(0, 5).map(describeSession).join('; ')}` : '',
        prepared.length ? `${prepared.length} prepared transaction(s): ${prepared.slice(0, 5).join(', ')}` : '',
      ].filter(Boolean).join('; '),
    );
  }
}

/**
 * Poll (every few ms) until no other session can commit, or the deadline
 * passes. `terminate` also ends the sessions it finds (revoke and readonly
 * fences, where they cannot come back as writers).
 */
export async function proveFence(admin: Db, database: string, ownPids: number[], deadline: Deadline, opts: { terminate: boolean; second?: Db }): Promise<FenceProof> {
  let checks = 0;
  // `second`: another of pgshift's sessions on the same cluster, to ask about
  // prepared transactions (cluster-wide) at the same time as about sessions.
  const preparedOn = opts.second ?? admin;
  while (true) {
    checks++;
    if (opts.terminate) await terminateOthers(admin, database, ownPids);
    const [sessions, prepared] = await Promise.all([
      otherSessions(admin, database, ownPids),
      preparedOn.query<{ gid: string }>(sqlFile('fence-prepared'), [database]),
    ]);
    // After a terminate, a session still here is one that came back; only a
    // superuser can (CONNECT privileges do not apply to it), and it counts only if writing.
    const writers = sessions.filter((s) => s.writing || (opts.terminate && !s.superuser));
    if (writers.length === 0 && prepared.length === 0) return { idle: sessions, checks };
    if (pastDeadline(deadline)) throw new FenceNotProven(writers, prepared.map((p) => p.gid));
    await sleep(opts.terminate ? 5 : 2);
  }
}
