// pgshift load: N clients running short transactions (insert, update,
// delete, a sequence, a key-less table), each also inserting one ledger row.
// A transaction counts as acknowledged only when COMMIT returns OK; then its
// ledger id goes to the ledger file. A client whose connection breaks counts
// the error and reconnects, so a switchover shows up as a stall, not an end.
// Setup and identity checks use the configured source; `via` (e.g. a
// PgBouncer address) is used for the load connections themselves.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { EndpointConfig } from '../config/config.js';
import type { ConnParams } from '../config/conninfo.js';
import { clientConfig, connect, withDb } from '../pg/connect.js';
import { silent, type Emit } from '../events.js';
import { sleep } from '../util/wait.js';
import { LedgerWriter } from './ledger.js';
import { ensureLoadSchema } from './schema.js';

export interface LoadOptions {
  source: EndpointConfig;
  database: string;
  clients?: number;
  /** Stop after this long; without it, run until stop() or the signal. */
  durationMs?: number;
  /** Append acknowledged ledger ids here. */
  ledgerFile?: string;
  /** Run the load through this connection instead (PgBouncer); the password defaults to the source's. */
  via?: { conn: ConnParams; password?: string };
  emit?: Emit;
  signal?: AbortSignal;
  /** Pause between a client's transactions (default none). */
  thinkMs?: number;
}

export interface LoadReport {
  run: string;
  database: string;
  clients: number;
  durationMs: number;
  /** Acknowledged transactions: COMMIT returned OK. */
  transactions: number;
  tps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  /** Longest gap between two successive acknowledged commits, over all clients. */
  longestStallMs: number;
  /** Transactions that failed (including those whose COMMIT outcome is unknown). */
  errors: number;
  reconnects: number;
  /** A few distinct error messages, for the report. */
  errorSamples: string[];
  byOp: Record<string, number>;
  ledgerFile?: string;
}

export interface LoadHandle {
  run: string;
  /** Stop the clients after their current transaction and return the report. */
  stop(): Promise<LoadReport>;
  /** Resolves when the load ends (duration, signal or stop()). */
  done: Promise<LoadReport>;
  /** Acknowledged transactions so far. */
  acknowledged(): number;
}

type Op = 'insert' | 'update' | 'delete' | 'audit';

function pickOp(): Op {
  const r = Math.random();
  if (r < 0.4) return 'insert';
  if (r < 0.75) return 'update';
  if (r < 0.9) return 'delete';
  return 'audit';
}

const OP_SQL: Record<Op, string[]> = {
  insert: [
    "WITH a AS (INSERT INTO pgshift_load.accounts (client, balance, note) VALUES ($1, 0, 'opened by load') RETURNING id) INSERT INTO pgshift_load.events (account_id, kind, ticket) SELECT id, 'open', nextval('pgshift_load.ticket_seq') FROM a",
  ],
  // Each client touches only its own accounts, so clients never deadlock each other.
  update: [
    'UPDATE pgshift_load.accounts SET balance = balance + 1, updated_at = now() WHERE id = (SELECT id FROM pgshift_load.accounts WHERE client = $1 ORDER BY id DESC LIMIT 1 OFFSET floor(random() * 5)::int)',
  ],
  delete: ['DELETE FROM pgshift_load.accounts WHERE id = (SELECT id FROM pgshift_load.accounts WHERE client = $1 ORDER BY id LIMIT 1)'],
  audit: ["INSERT INTO pgshift_load.audit (client, ticket, payload) VALUES ($1, nextval('pgshift_load.ticket_seq'), repeat('x', 100))"],
};

const LEDGER_SQL = 'INSERT INTO pgshift_load.ledger (id, run, client, seq, op) VALUES ($1, $2, $3, $4, $5)';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** A broken connection (as opposed to a failed statement on a healthy one). */
function connectionLost(e: unknown, client: pg.Client | undefined): boolean {
  const code = (e as { code?: string }).code ?? '';
  const ended = (client as unknown as { _ending?: boolean; _queryable?: boolean } | undefined)?._queryable === false;
  return ended || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' ||
    /ECONNRESET|ECONNREFUSED|EPIPE|terminat|Connection|not queryable/i.test(String((e as Error).message ?? ''));
}

export async function startLoad(opts: LoadOptions): Promise<LoadHandle> {
  const emit = opts.emit ?? silent;
  const run = randomUUID();
  const clients = Math.max(1, opts.clients ?? 4);
  await withDb('source', opts.source, { database: opts.database, applicationName: 'pgshift load setup' }, ensureLoadSchema);
  const ledger = opts.ledgerFile ? new LedgerWriter(opts.ledgerFile, run) : undefined;

  const latencies: number[] = [];
  const byOp: Record<string, number> = {};
  const errorSamples = new Set<string>();
  let errors = 0;
  let reconnects = 0;
  let lastAck: number | undefined;
  let longestStall = 0;
  let stopping = false;
  const started = Date.now();

  const open = async (): Promise<pg.Client> => {
    if (opts.via) {
      const cfg = clientConfig(opts.via.conn, opts.via.password ?? opts.via.conn.password ?? opts.source.password, {
        database: opts.via.conn.dbname ?? opts.database, applicationName: 'pgshift load',
      });
      const c = new pg.Client(cfg);
      c.on('error', () => undefined);
      try {
        await c.connect();
      } catch (e) {
        await c.end().catch(() => undefined);
        throw e;
      }
      return c;
    }
    return (await connect('source', opts.source, { database: opts.database, applicationName: 'pgshift load' })).client;
  };

  const noteError = (e: unknown): void => {
    errors++;
    if (errorSamples.size < 5) errorSamples.add(String((e as Error).message ?? e).split('\n')[0]!.slice(0, 200));
  };

  const clientLoop = async (n: number): Promise<void> => {
    let client: pg.Client | undefined;
    let seq = 0;
    let backoff = 20;
    while (!stopping) {
      if (!client) {
        try {
          client = await open();
          backoff = 20;
        } catch (e) {
          noteError(e);
          await sleep(backoff, opts.signal);
          backoff = Math.min(backoff * 2, 1000);
          continue;
        }
      }
      const op = pickOp();
      const id = randomUUID();
      seq++;
      const t0 = performance.now();
      let inTransaction = false;
      try {
        await client.query('BEGIN');
        inTransaction = true;
        for (const sql of OP_SQL[op]) await client.query(sql, [n]);
        await client.query(LEDGER_SQL, [id, run, n, seq, op]);
        await client.query('COMMIT');
        inTransaction = false;
      } catch (e) {
        noteError(e);
        if (connectionLost(e, client)) {
          await client.end().catch(() => undefined);
          client = undefined;
          reconnects++;
        } else if (inTransaction) {
          await client.query('ROLLBACK').catch(async () => {
            await client?.end().catch(() => undefined);
            client = undefined;
          });
        }
        await sleep(backoff, opts.signal);
        backoff = Math.min(backoff * 2, 1000);
        continue;
      }
      // Acknowledged: COMMIT returned OK.
      const now = Date.now();
      latencies.push(performance.now() - t0);
      byOp[op] = (byOp[op] ?? 0) + 1;
      if (lastAck !== undefined) longestStall = Math.max(longestStall, now - lastAck);
      lastAck = now;
      ledger?.add(id);
      backoff = 20;
      if (opts.thinkMs) await sleep(opts.thinkMs, opts.signal);
    }
    await client?.end().catch(() => undefined);
  };

  const ticker = setInterval(() => {
    const secs = (Date.now() - started) / 1000;
    emit({ type: 'progress', task: 'load', label: `load (${clients} clients, ${errors} errors)`, done: latencies.length, rate: secs > 0 ? latencies.length / secs : 0, errors });
  }, 1000);
  ticker.unref();

  const loops = Array.from({ length: clients }, (_, i) => clientLoop(i + 1));
  let durationTimer: NodeJS.Timeout | undefined;
  const stopNow = (): void => {
    stopping = true;
  };
  if (opts.durationMs !== undefined) durationTimer = setTimeout(stopNow, opts.durationMs);
  opts.signal?.addEventListener('abort', stopNow, { once: true });

  const done = Promise.all(loops).then((): LoadReport => {
    clearInterval(ticker);
    if (durationTimer) clearTimeout(durationTimer);
    opts.signal?.removeEventListener('abort', stopNow);
    ledger?.close();
    const durationMs = Date.now() - started;
    const sorted = [...latencies].sort((a, b) => a - b);
    const round = (x: number): number => Math.round(x * 100) / 100;
    const report: LoadReport = {
      run,
      database: opts.database,
      clients,
      durationMs,
      transactions: latencies.length,
      tps: round(latencies.length / (durationMs / 1000)),
      latencyMs: { p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)), p99: round(percentile(sorted, 99)), max: round(sorted[sorted.length - 1] ?? 0) },
      longestStallMs: longestStall,
      errors,
      reconnects,
      errorSamples: [...errorSamples],
      byOp,
      ledgerFile: opts.ledgerFile,
    };
    emit({
      type: 'result',
      data: {
        kind: 'load', database: report.database, clients, durationMs, transactions: report.transactions, tps: report.tps,
        errors, longestStallMs: longestStall, latencyMs: report.latencyMs,
      },
    });
    return report;
  });

  return {
    run,
    done,
    stop: async () => {
      stopNow();
      return done;
    },
    acknowledged: () => latencies.length,
  };
}

/** Run the load until its duration passes or the signal fires. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const handle = await startLoad(opts);
  return handle.done;
}
