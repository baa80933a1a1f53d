// Shared pieces of the replication end-to-end tests: a write load on the
// fixture schema (inserts, updates, deletes, cross-partition moves, updates of
// rows with TOASTed values, single-row changes in a table of duplicates), and
// checks made independently of pgshift: every table ready, the slot caught up
// with a given source LSN, every table's rows identical on both sides.

import assert from 'node:assert/strict';
import type pg from 'pg';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { qualify, quoteIdent } from '../../src/pg/quote.js';
import { namesFor } from '../../src/replication/names.js';
import { featuresOf } from '../../src/pg/version.js';
import { createFixtureSchema, fillFixture, FIXTURE_SCHEMAS, FIXTURE_TABLES, HOSTILE } from './fixture-schema.js';
import { runCli, slotConfirmed, tableRows, waitFor, type CliResult, type Pair } from './harness.js';
import type { LoadCheckReport } from '../../src/load/check.js';
import { STATUS_PROBLEM_CODES, type Problem } from '../../src/problems.js';

export interface Load {
  /** Stop writing; resolves with the number of committed transactions. */
  stop(): Promise<number>;
}

const H = FIXTURE_SCHEMAS.hostile;

/** One write transaction of a random kind, on the fixture tables. */
async function writeOnce(c: pg.Client, i: number, crossPartitionUpdate: boolean): Promise<void> {
  const kind = i % 9;
  await c.query('BEGIN');
  try {
    switch (kind) {
      case 0:
        await c.query(`WITH cust AS (
            INSERT INTO app.customers (email, name, tags, profile)
            VALUES ('load' || $1::int || '.' || md5(random()::text) || '@x.org', 'load ' || $1::int, ARRAY['l'], jsonb_build_object('load', $1::int))
            RETURNING id),
          ord AS (INSERT INTO app.orders (customer_id, quantity, unit_price) SELECT id, 1 + $1::int % 5, 9.99 FROM cust RETURNING id)
          INSERT INTO app.order_items (order_id, line_no, sku) SELECT id, 1, 'SKU-load-' || $1::int FROM ord`, [i]);
        break;
      case 1:
        await c.query(`UPDATE app.orders SET status = 'paid', quantity = 1 + (quantity % 8), status_history = status_history || 'paid'::app.status
          WHERE id IN (SELECT id FROM app.orders ORDER BY random() LIMIT 3)`);
        break;
      case 2:
        // Cascades to order_items and the hostile table.
        await c.query('DELETE FROM app.orders WHERE id = (SELECT id FROM app.orders ORDER BY random() LIMIT 1)');
        break;
      case 3:
        // A row with an out-of-line bytea: change only the small column, so the TOASTed value goes unchanged.
        await c.query(`UPDATE app.blobs SET doc = doc || jsonb_build_object('touched', $1::int)
          WHERE id = (SELECT id FROM app.blobs WHERE length(data) > 4000 ORDER BY random() LIMIT 1)`, [i]);
        break;
      case 4:
        // Into 2024 whatever the client's counter (the second client counts
        // from 1,000,000 minutes, which would land in the default partition),
        // so the move below cannot drain events_2024 over a long load.
        await c.query(`INSERT INTO app.events (created_at, kind, payload) VALUES (timestamptz '2024-03-01 00:00+00' + ($1::int % 400000) * interval '1 minute', 'load', '{"l":1}')`, [i]);
        // Moves a row to another partition (PostgreSQL 10 cannot UPDATE a row
        // out of its partition: there it is a DELETE and an INSERT).
        if (crossPartitionUpdate) {
          await c.query(`UPDATE app.events SET created_at = created_at - interval '1 year', kind = 'moved'
            WHERE (id, created_at) = (SELECT id, created_at FROM app.events WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01' ORDER BY random() LIMIT 1)`);
        } else {
          await c.query(`WITH gone AS (DELETE FROM app.events
              WHERE (id, created_at) = (SELECT id, created_at FROM app.events WHERE created_at >= '2024-01-01' AND created_at < '2025-01-01' ORDER BY random() LIMIT 1)
              RETURNING id, created_at, payload)
            INSERT INTO app.events (id, created_at, kind, payload) SELECT id, created_at - interval '1 year', 'moved', payload FROM gone`);
        }
        break;
      case 5:
        await c.query(`UPDATE app.no_pk_unique SET value = coalesce(value, 0) + 1, note = 'upd ' || $1::int
          WHERE code = (SELECT code FROM app.no_pk_unique ORDER BY random() LIMIT 1)`, [i]);
        await c.query(`INSERT INTO app.no_pk_unique (code, value) VALUES (md5(random()::text || $1::text), $1::int)`, [i]);
        await c.query('DELETE FROM app.no_pk_unique WHERE code = (SELECT code FROM app.no_pk_unique ORDER BY random() LIMIT 1)');
        break;
      case 6:
        // One of two identical rows changes, then one is deleted: the subscriber must touch exactly one.
        await c.query('INSERT INTO app.no_pk_dups (a, b, c) VALUES ($1::int % 50, $2, 1.5), ($1::int % 50, $2, 1.5)', [i, `dup ${i % 50}`]);
        await c.query(`UPDATE app.no_pk_dups SET c = c + 1 WHERE ctid = (SELECT ctid FROM app.no_pk_dups WHERE a = $1::int % 50 LIMIT 1)`, [i]);
        await c.query(`DELETE FROM app.no_pk_dups WHERE ctid = (SELECT ctid FROM app.no_pk_dups WHERE a = ($1::int + 7) % 50 LIMIT 1)`, [i]);
        break;
      case 7:
        await c.query(`INSERT INTO ${qualify(H, HOSTILE.table)} (${quoteIdent(HOSTILE.columnQty)}, ${quoteIdent(HOSTILE.columnNote)}, ${quoteIdent('Order Ref')})
          VALUES (1 + $1::int % 9, 'load; "' || $1::int || '" ' || md5(random()::text), NULL)`, [i]);
        await c.query(`UPDATE ${qualify(H, HOSTILE.mixedCaseTable)} SET ${quoteIdent('CamelValue')} = 'load ' || $1::int
          WHERE ${quoteIdent('Key')} = (SELECT ${quoteIdent('Key')} FROM ${qualify(H, HOSTILE.mixedCaseTable)} ORDER BY random() LIMIT 1)`, [i]);
        break;
      default:
        await c.query(`INSERT INTO app.blobs (data, doc)
          SELECT decode(string_agg(md5(random()::text || g::text), ''), 'hex'), '{"big": true}' FROM generate_series(1, 300) g`);
        break;
    }
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    // A deadlock or a row deleted under us is the load's problem, not replication's.
    if (!['40P01', '40001', '23505', '23503'].includes((e as { code?: string }).code ?? '')) throw e;
  }
}

/** Write to the fixture tables from `clients` connections until stopped. */
export async function startLoad(cluster: EmbeddedCluster, db: string, clients = 2): Promise<Load> {
  let stopping = false;
  let committed = 0;
  const conns = await Promise.all(Array.from({ length: clients }, () => cluster.client(db)));
  const crossPartitionUpdate = featuresOf(cluster.major).partitionedIndexes;
  const loops = conns.map(async (c, n) => {
    let i = n * 1_000_000;
    while (!stopping) {
      await writeOnce(c, i++, crossPartitionUpdate);
      committed++;
    }
  });
  return {
    async stop() {
      stopping = true;
      try {
        await Promise.all(loops);
      } finally {
        await Promise.all(conns.map((c) => c.end()));
      }
      return committed;
    },
  };
}

/** Wait until the subscription's slot has confirmed the source's current LSN and every table is ready. */
export async function waitForCatchUp(source: EmbeddedCluster, target: EmbeddedCluster, db: string, timeoutMs = 120_000): Promise<void> {
  const names = namesFor(db);
  const [{ lsn }] = await source.sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn', [], db) as [{ lsn: string }];
  await waitFor(async () => {
    const states = await target.sql<{ n: string }>(
      `SELECT count(*) AS n FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid
        WHERE s.subname = $1 AND sr.srsubstate <> 'r'`, [names.subscription], db);
    return Number(states[0]!.n) === 0;
  }, { timeoutMs, intervalMs: 250, what: `every table of ${db} to be ready` });
  await slotConfirmed(source, names.slot, { lsn, timeoutMs, intervalMs: 250 });
}

/** Every fixture table (roots and partitions) has the same rows on both sides, and some rows. */
export async function assertSameRows(source: EmbeddedCluster, target: EmbeddedCluster, db: string): Promise<void> {
  for (const t of FIXTURE_TABLES) {
    const [a, b] = await Promise.all([tableRows(source, db, t.schema, t.name), tableRows(target, db, t.schema, t.name)]);
    assert.ok(a.length > 0, `${t.schema}.${t.name} has no rows on the source: the test proves nothing`);
    if (b.length !== a.length) {
      // Name the rows, so a failure can be explained, not just counted.
      const onTarget = new Set(b);
      const onSource = new Set(a);
      const only = (rows: string[], other: Set<string>): string => rows.filter((r) => !other.has(r)).slice(0, 5).join(' | ');
      assert.fail(`${t.schema}.${t.name}: ${a.length} rows on the source, ${b.length} on the target; only on the source: ${only(a, onTarget)}; only on the target: ${only(b, onSource)}`);
    }
    assert.deepEqual(b, a, `${t.schema}.${t.name}: rows differ`);
  }
}

/** How many publications, subscriptions and slots named for this database exist. */
export async function objectCounts(source: EmbeddedCluster, target: EmbeddedCluster, db: string): Promise<{ publications: number; subscriptions: number; slots: number; slotsOnTarget: number }> {
  const n = namesFor(db);
  const [pubs, subs, slots, tslots] = await Promise.all([
    source.sql<{ n: string }>('SELECT count(*) AS n FROM pg_publication WHERE pubname = $1', [n.publication], db),
    target.sql<{ n: string }>('SELECT count(*) AS n FROM pg_subscription WHERE subname = $1', [n.subscription]),
    source.sql<{ n: string }>("SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name LIKE 'pgshift\\_%' AND database = $1", [db]),
    target.sql<{ n: string }>("SELECT count(*) AS n FROM pg_replication_slots WHERE slot_name LIKE 'pgshift\\_%'"),
  ]);
  return { publications: Number(pubs[0]!.n), subscriptions: Number(subs[0]!.n), slots: Number(slots[0]!.n), slotsOnTarget: Number(tslots[0]!.n) };
}

/** Problems one per line, code first (for assertion messages). */
export function problemLines(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.code}: ${p.message}${p.fix ? ` / fix: ${p.fix}` : ''}`).join('\n');
}

/** The first problem with this code, or undefined. */
export function problemOf(problems: readonly Problem[], code: string): Problem | undefined {
  return problems.find((p) => p.code === code);
}

/** The shape `status --json` promises (docs/replication.md), checked field by field. */
export function assertStatusShape(s: Record<string, unknown>): void {
  for (const k of ['database', 'time', 'phase', 'source', 'target', 'publication', 'subscription', 'slot', 'reverse', 'workers', 'tables', 'tablesReady', 'tablesTotal', 'copiedBytes', 'lagBytes', 'lagSeconds', 'walRetainedBytes', 'errors', 'problems']) {
    assert.ok(k in s, `status has no "${k}"`);
  }
  assert.ok(Array.isArray(s.tables) && Array.isArray(s.problems) && Array.isArray(s.workers));
  for (const p of s.problems as Record<string, unknown>[]) {
    assert.ok((STATUS_PROBLEM_CODES as readonly unknown[]).includes(p.code), `problem with an undocumented code: ${JSON.stringify(p)}`);
    assert.equal(typeof p.message, 'string');
    assert.ok(p.fix === undefined || typeof p.fix === 'string', JSON.stringify(p));
  }
  for (const t of s.tables as Record<string, unknown>[]) {
    for (const k of ['schema', 'name', 'state', 'stateCode', 'copy', 'sourceBytes', 'targetBytes']) assert.ok(k in t, `table status has no "${k}"`);
  }
  const slot = s.slot as Record<string, unknown>;
  for (const k of ['name', 'exists', 'active', 'walStatus', 'restartLsn', 'confirmedFlushLsn']) assert.ok(k in slot, `slot has no "${k}"`);
  const errors = s.errors as Record<string, unknown>;
  for (const k of ['apply', 'sync', 'last']) assert.ok(k in errors, `errors has no "${k}"`);
}

/**
 * The issue's main scenario: the fixture schema with data (TOASTed bytea and
 * jsonb included) on the source, `pgshift run` (check, roles, schema, start,
 * wait) while writes run on the source the whole time, then, with the writes
 * stopped, every table identical on both sides and status --json healthy.
 */
export async function runUnderLoad(pair: Pair, dbPrefix: string): Promise<void> {
  const db = await pair.freshDatabase(dbPrefix);
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 2000);
  const cfg = await pair.writeConfig([db]);
  const env = pair.env();
  const load = await startLoad(pair.source, db);
  let committed: number;
  let runResult: CliResult;
  try {
    runResult = await runCli(['-c', cfg, '--yes', 'run', db, '--timeout', '150s'], { env, timeoutMs: 170_000 });
  } finally {
    committed = await load.stop();
  }
  assert.equal(runResult.code, 0, runResult.stderr);
  assert.ok(!runResult.stderr.includes(pair.source.password) && !runResult.stderr.includes(pair.target.password), 'a password was printed');
  assert.ok(committed > 20, `only ${committed} write transactions ran during run`);

  const wait = await runCli(['-c', cfg, '--json', 'wait', db, '--timeout', '120s', '--interval', '300ms'], { env, timeoutMs: 150_000 });
  assert.equal(wait.code, 0, wait.stderr);
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });

  const st = await runCli(['-c', cfg, '--json', 'status', db], { env });
  assert.equal(st.code, 0, st.stderr + st.stdout);
  const s = (JSON.parse(st.stdout) as { databases: Record<string, unknown>[] }).databases[0]!;
  assertStatusShape(s);
  assert.equal(s.phase, 'streaming');
  assert.ok((s.tables as { state: string }[]).length >= 8);
  assert.ok((s.tables as { state: string }[]).every((t) => t.state === 'ready'));
  assert.equal(typeof s.lagBytes, 'number');
  assert.equal(typeof s.walRetainedBytes, 'number');
  assert.deepEqual(s.problems, []);
}

/**
 * After a run under a ledgered load: replication caught up, every
 * acknowledged write on the target exactly once (load-check through the
 * CLI), and every table's rows equal on both sides. context() says what the
 * servers logged, for a failure.
 */
export async function assertRunArrived(
  pair: Pair, cfg: string, db: string, ledgerFile: string, acknowledged: number, context: () => Promise<string>,
): Promise<void> {
  await waitForCatchUp(pair.source, pair.target, db);
  const lc = await runCli(['-c', cfg, '--json', 'load-check', db, '--ledger', ledgerFile], { env: pair.env() });
  assert.ok(lc.stdout.trim().startsWith('{'), `load-check printed no JSON (exit ${lc.code}): ${lc.stderr}`);
  const check = JSON.parse(lc.stdout) as LoadCheckReport;
  assert.ok(acknowledged > 0 && check.acknowledged === acknowledged, `the ledger lists ${check.acknowledged} of ${acknowledged} acknowledged transactions`);
  assert.equal(check.missing, 0, `acknowledged writes missing on the target: ${check.missingIds.join(', ')}\n${await context()}`);
  assert.equal(check.duplicated, 0, `acknowledged writes on the target more than once: ${check.duplicatedIds.join(', ')}\n${await context()}`);
  try {
    await assertSameRows(pair.source, pair.target, db);
  } catch (e) {
    (e as Error).message += `\n${await context()}`;
    throw e;
  }
}
