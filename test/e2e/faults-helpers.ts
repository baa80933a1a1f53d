// Shared steps of the faults-* tests (replication problems pgshift must
// detect and refuse). Not a test file: importing it does nothing.
import assert from 'node:assert/strict';
import { Pair, runCli, tableRows, waitFor, type CliResult } from '../helpers/harness.js';
import { startStreaming } from '../helpers/fault-scenario.js';

/**
 * A refused switchover left the source as it was: no fence record, not
 * read-only, and a write on a new connection commits.
 */
export async function assertSourceUnfenced(pair: Pair, db: string, write: string): Promise<void> {
  const fence = (await pair.source.sql<{ t: boolean }>("SELECT to_regclass('pgshift.switchover_fence') IS NOT NULL AS t"))[0]!.t
    ? await pair.source.sql('SELECT 1 FROM pgshift.switchover_fence WHERE database = $1', [db]) : [];
  assert.equal(fence.length, 0, 'no fence record on the source');
  const ro = await pair.source.sql<{ ro: string }>("SELECT current_setting('default_transaction_read_only') AS ro", [], db);
  assert.equal(ro[0]!.ro, 'off');
  const c = await pair.source.client(db);
  try {
    await c.query(write);
  } finally {
    await c.end();
  }
}

/** pgshift switchover that must be refused in preflight: exit 1 and the reason on stderr. */
export async function refusedSwitchover(pair: Pair, cfg: string, db: string, reason: RegExp): Promise<CliResult> {
  const r = await runCli(['-c', cfg, '--yes', 'switchover', db, '--max-pause', '5s'], { env: pair.env(), timeoutMs: 90_000 });
  assert.equal(r.code, 1, `switchover should be refused:\n${r.stderr}\n${r.stdout}`);
  assert.match(r.stderr, reason);
  assert.match(r.stderr, /Writes were not paused/);
  return r;
}

/**
 * A fresh database with a 200-row `items` table on both sides, replicating
 * and caught up (revoke pause in the config): the start of a conflict test.
 */
export async function streamingItems(pair: Pair, prefix: string): Promise<{ db: string; cfg: string; env: Record<string, string> }> {
  const db = await pair.freshDatabase(prefix, { onTarget: true });
  for (const c of [pair.source, pair.target]) await c.sql('CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL)', [], db);
  await pair.source.sql("INSERT INTO items SELECT g, 'row ' || g FROM generate_series(1, 200) g", [], db);
  const cfg = await pair.writeConfig([db], 'switchover:\n  pause: revoke\n');
  await startStreaming({ cfg, db }, pair.env());
  return { db, cfg, env: pair.env() };
}

/** Every row of schema.table is the same on both sides (once the last changes are applied). */
export async function converged(pair: Pair, db: string, schema: string, table: string): Promise<void> {
  await waitFor(async () => {
    const [a, b] = await Promise.all([tableRows(pair.source, db, schema, table), tableRows(pair.target, db, schema, table)]);
    return JSON.stringify(a) === JSON.stringify(b);
  }, { timeoutMs: 60_000, what: `${schema}.${table} to be identical on both sides` });
}
