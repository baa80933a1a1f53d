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
import { FIRST_BACKOFF_MS, LoadTally, loadOutcome, loadReport, nextBackoff, pickOp, type LoadReport, type Op } from './tally.js';

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

export type { LoadReport } from './tally.js';

export interface LoadHandle {
  run: string;
  /** Stop the clients after their current transaction and return the report. */
  stop(): Promise<LoadReport>;
  /** Resolves when the load ends (duration, signal or stop()). */
  done: Promise<LoadReport>;
  /** Acknowledged transactions so far. */
  acknowledged(): number;
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
  const tally = new LoadTally();
  const state = { stopping: false };
  const started = Date.now();

  const ticker = setInterval(() => {
    const secs = (Date.now() - started) / 1000;
    emit({ type: 'progress', task: 'load', label: `load (${clients} clients, ${tally.errors} errors)`, done: tally.transactions, rate: secs > 0 ? tally.transactions / secs : 0, errors: tally.errors });
  }, 1000);
  ticker.unref();

  const loops = Array.from({ length: clients }, (_, i) => clientLoop(i + 1, { opts, run, tally, ledger, state }));
  let durationTimer: NodeJS.Timeout | undefined;
  const stopNow = (): void => {
    state.stopping = true;
  };
  if (opts.durationMs !== undefined) durationTimer = setTimeout(stopNow, opts.durationMs);
  opts.signal?.addEventListener('abort', stopNow, { once: true });

  const done = Promise.all(loops).then((): LoadReport => {
    clearInterval(ticker);
    if (durationTimer) clearTimeout(durationTimer);
    opts.signal?.removeEventListener('abort', stopNow);
    ledger?.close();
    const report = loadReport(tally, { run, database: opts.database, clients, durationMs: Date.now() - started, ledgerFile: opts.ledgerFile });
    emit({ type: 'result', data: loadOutcome(report) });
    return report;
  });

  return {
    run,
    done,
    stop: async () => {
      stopNow();
      return done;
    },
    acknowledged: () => tally.transactions,
  };
}

/** What every client of one load shares. */
interface LoadRun {
  opts: LoadOptions;
  run: string;
  tally: LoadTally;
  ledger: LedgerWriter | undefined;
  state: { stopping: boolean };
}

/** A load connection: through `via` (PgBouncer) when given, else a verified connection to the source. */
async function openLoadConnection(opts: LoadOptions): Promise<pg.Client> {
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
}

/** One client: transactions until the load stops, reconnecting (with backoff) whenever its connection breaks. */
async function clientLoop(n: number, load: LoadRun): Promise<void> {
  const { opts, tally } = load;
  let client: pg.Client | undefined;
  let seq = 0;
  let backoff = FIRST_BACKOFF_MS;
  while (!load.state.stopping) {
    if (!client) {
      try {
        client = await openLoadConnection(opts);
        backoff = FIRST_BACKOFF_MS;
      } catch (e) {
        tally.failed(e);
        await sleep(backoff, opts.signal);
        backoff = nextBackoff(backoff);
        continue;
      }
    }
    const op = pickOp(Math.random());
    const id = randomUUID();
    seq++;
    const t0 = performance.now();
    const failure = await runTransaction(client, n, op, [id, load.run, n, seq, op]);
    if (failure) {
      tally.failed(failure.error);
      if (failure.connectionLost) tally.reconnected();
      if (!failure.usable) client = undefined;
      await sleep(backoff, opts.signal);
      backoff = nextBackoff(backoff);
      continue;
    }
    // Acknowledged: COMMIT returned OK.
    tally.acknowledged(op, performance.now() - t0, Date.now());
    load.ledger?.add(id);
    backoff = FIRST_BACKOFF_MS;
    if (opts.thinkMs) await sleep(opts.thinkMs, opts.signal);
  }
  await client?.end().catch(() => undefined);
}

/**
 * One transaction of `op` by client `n`, plus its ledger row. On failure: the error, whether
 * the connection was lost, and whether the client can still be used (it is
 * closed when the connection broke or a ROLLBACK failed).
 */
async function runTransaction(client: pg.Client, n: number, op: Op, ledgerRow: unknown[]): Promise<{ error: unknown; connectionLost: boolean; usable: boolean } | undefined> {
  let inTransaction = false;
  try {
    await client.query('BEGIN');
    inTransaction = true;
    for (const sql of OP_SQL[op]) await client.query(sql, [n]);
    await client.query(LEDGER_SQL, ledgerRow);
    await client.query('COMMIT');
    return undefined;
  } catch (e) {
    if (connectionLost(e, client)) {
      await client.end().catch(() => undefined);
      return { error: e, connectionLost: true, usable: false };
    }
    let usable = true;
    if (inTransaction) {
      await client.query('ROLLBACK').catch(async () => {
        await client.end().catch(() => undefined);
        usable = false;
      });
    }
    return { error: e, connectionLost: false, usable };
  }
}

/** Run the load until its duration passes or the signal fires. */
export async function runLoad(opts: LoadOptions): Promise<LoadReport> {
  const handle = await startLoad(opts);
  return handle.done;
}
