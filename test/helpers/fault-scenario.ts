// Shared pieces of the fault tests (server restarts, network cuts): a
// database with pgshift's ledgered load schema and a bulk table on both
// sides, brakes that hold the table copy or the apply part-way (an ALWAYS
// trigger on the target waits on an advisory lock the test holds), and the
// end check: caught up, every acknowledged write on the target exactly once,
// every table identical row by row (duplicates would show in the key-less
// audit table).

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { qualify } from '../../src/pg/quote.js';
import { LOAD_SCHEMA_SQL, startLoad, type LoadHandle, type LoadReport } from '../../src/load/index.js';
import type { LoadCheckReport } from '../../src/load/check.js';
import { runCli, tableRows, type Pair } from './harness.js';
import { problemLines, waitForCatchUp } from './replication-scenario.js';
import { type DatabaseStatus } from '../../src/status/model.js';

/** Every table the fault tests compare, with the bulk table last. */
export const FAULT_TABLES: [string, string][] = [
  ['pgshift_load', 'accounts'],
  ['pgshift_load', 'events'],
  ['pgshift_load', 'audit'],
  ['pgshift_load', 'ledger'],
  ['public', 'bulk'],
];

export interface FaultDatabase {
  db: string;
  cfg: string;
  ledger: string;
}

/** A fresh database, its schema on both sides, `bulkRows` rows in public.bulk on the source. */
export async function faultDatabase(pair: Pair, prefix: string, bulkRows: number, cfgExtra?: (text: string) => string): Promise<FaultDatabase> {
  const db = await pair.freshDatabase(prefix, { onTarget: true });
  for (const c of [pair.source, pair.target]) {
    await c.sql(LOAD_SCHEMA_SQL, [], db);
    await c.sql('CREATE TABLE public.bulk (id bigint PRIMARY KEY, payload text NOT NULL)', [], db);
  }
  await pair.source.sql('INSERT INTO public.bulk SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, $1::int) g', [bulkRows], db);
  const cfg = await pair.writeConfig([db]);
  if (cfgExtra) writeFileSync(cfg, cfgExtra(readFileSync(cfg, 'utf8')));
  return { db, cfg, ledger: join(pair.dir, `ledger-${db}.txt`) };
}

/** Two clients of pgshift's ledgered load on the source (they reconnect after a restart). */
export async function ledgerLoad(pair: Pair, f: FaultDatabase): Promise<LoadHandle> {
  return startLoad({ source: await pair.source.endpoint(), database: f.db, clients: 2, ledgerFile: f.ledger, thinkMs: 2 });
}

/**
 * A brake on the target: a BEFORE INSERT trigger, enabled ALWAYS so it fires
 * in replication workers, that waits on advisory lock `key` for rows matching
 * `when` (a condition on NEW). Holding the lock (hold()) stops the copy or the
 * apply at that row; release() or the holder's connection ending lets it go.
 */
export async function installBrake(target: EmbeddedCluster, db: string, schema: string, table: string, key: number, when: string): Promise<void> {
  const fn = qualify(schema, `${table}_brake`);
  // `when` and `key` are test constants, not input.
  await target.sql(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${when} THEN PERFORM pg_advisory_lock_shared(${key}); PERFORM pg_advisory_unlock_shared(${key}); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER brake BEFORE INSERT ON ${qualify(schema, table)} FOR EACH ROW EXECUTE FUNCTION ${fn}();
    ALTER TABLE ${qualify(schema, table)} ENABLE ALWAYS TRIGGER brake;`, [], db);
}

/** Hold a brake's lock on a connection of its own; the connection dies with the server. */
export async function holdBrake(target: EmbeddedCluster, db: string, key: number): Promise<pg.Client> {
  const c = await target.client(db);
  await c.query('SELECT pg_advisory_lock($1)', [key]);
  return c;
}

/** `pgshift status --json` for one database: the exit code and the document. */
export async function cliStatus(f: Pick<FaultDatabase, 'cfg' | 'db'>, env: Record<string, string>): Promise<{ code: number | null; status: DatabaseStatus }> {
  const r = await runCli(['-c', f.cfg, '--json', 'status', f.db], { env });
  assert.ok(r.stdout.trim().startsWith('{'), `status printed no JSON (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, status: (JSON.parse(r.stdout) as { databases: DatabaseStatus[] }).databases[0]! };
}

/** `pgshift wait` until caught up; asserts success. */
export async function cliWait(f: Pick<FaultDatabase, 'cfg' | 'db'>, env: Record<string, string>, timeout = '120s'): Promise<void> {
  const w = await runCli(['-c', f.cfg, 'wait', f.db, '--timeout', timeout, '--interval', '300ms'], { env, timeoutMs: 180_000 });
  assert.equal(w.code, 0, `pgshift wait failed (exit ${w.code}):\n${w.stderr}`);
}

/** pgshift start, then wait until streaming. */
export async function startStreaming(f: Pick<FaultDatabase, 'cfg' | 'db'>, env: Record<string, string>): Promise<void> {
  const start = await runCli(['-c', f.cfg, 'start', f.db], { env });
  assert.equal(start.code, 0, start.stderr);
  await cliWait(f, env);
}

/**
 * With the load stopped: pgshift wait succeeds, the target confirms the
 * source's current LSN, load-check finds every acknowledged write exactly
 * once, and every table has the same rows on both sides.
 */
export async function assertNothingLost(pair: Pair, f: FaultDatabase, report: LoadReport): Promise<LoadCheckReport> {
  const env = pair.env();
  assert.ok(report.transactions > 50, `only ${report.transactions} acknowledged load transactions: the test proves little`);
  await cliWait(f, env);
  await waitForCatchUp(pair.source, pair.target, f.db);
  const lc = await runCli(['-c', f.cfg, '--json', 'load-check', f.db, '--ledger', f.ledger], { env });
  assert.ok(lc.stdout.trim().startsWith('{'), `load-check printed no JSON (exit ${lc.code}): ${lc.stderr}`);
  const check = JSON.parse(lc.stdout) as LoadCheckReport;
  assert.equal(check.acknowledged, report.transactions, 'the ledger lists every acknowledged transaction');
  assert.equal(check.missing, 0, `acknowledged writes missing on the target: ${check.missingIds.join(', ')}`);
  assert.equal(check.duplicated, 0, `acknowledged writes on the target more than once: ${check.duplicatedIds.join(', ')}`);
  assert.equal(lc.code, 0, lc.stderr);
  for (const [schema, table] of FAULT_TABLES) {
    const [a, b] = await Promise.all([tableRows(pair.source, f.db, schema, table), tableRows(pair.target, f.db, schema, table)]);
    assert.ok(a.length > 0, `${schema}.${table} has no rows on the source: the test proves nothing`);
    assert.equal(b.length, a.length, `${schema}.${table}: ${a.length} rows on the source, ${b.length} on the target`);
    assert.deepEqual(b, a, `${schema}.${table}: rows differ`);
  }
  return check;
}

/** The last few ERROR/FATAL lines of a cluster's server log, for failure messages. */
export function serverErrors(c: EmbeddedCluster, n = 6): string {
  const lines = c.log().split('\n').filter((l) => /\b(ERROR|FATAL|PANIC):/.test(l));
  return lines.slice(-n).join('\n');
}

/** Fails, with the target's log, when the subscription is not enabled. */
export function assertStillEnabled(s: DatabaseStatus, target: EmbeddedCluster, after: string): void {
  assert.equal(s.subscription.enabled, true, `${after}, the subscription is disabled:\n${problemLines(s.problems)}\ntarget log:\n${serverErrors(target)}`);
}
