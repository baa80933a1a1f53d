// pgshift load-check: every id in a ledger file (the acknowledged writes of
// one or more load runs) is on the target's ledger table exactly once.
// The file is streamed into a temporary table on the target with COPY, so
// the comparison is two anti-joins in the database and memory stays flat
// whatever the file's size. Ledger rows of the same runs that are on the
// target but not in the file were committed without the client hearing back
// (e.g. the connection broke during COMMIT): reported, not a failure.

import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { EndpointConfig } from '../config/config.js';
import { withDb, type Db } from '../pg/connect.js';
import { ProblemError, UsageError } from '../errors.js';
import { parseLedgerLine } from './ledger.js';

export interface LoadCheckReport {
  database: string;
  ledgerFile: string;
  runs: string[];
  /** Ids in the file. */
  acknowledged: number;
  missing: number;
  /** The first missing ids, in file order. */
  missingIds: string[];
  /** Ids present more than once on the target. */
  duplicated: number;
  duplicatedIds: string[];
  /** Ledger rows of these runs on the target that the file does not list. */
  unacknowledged: number;
  ok: boolean;
}

export interface LoadCheckOptions {
  target: EndpointConfig;
  database: string;
  ledgerFile: string;
  /** Ids listed per kind. */
  limit?: number;
}

async function* fileRows(path: string, runs: string[]): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const text of lines) {
    n++;
    const l = parseLedgerLine(text, path, n);
    if (l.kind === 'run') runs.push(l.run);
    else if (l.kind === 'id') yield `${l.id}\t${n}\n`;
  }
}

async function loadFile(db: Db, path: string): Promise<string[]> {
  await db.query('CREATE TEMP TABLE pgshift_ledger_file (id uuid NOT NULL, line int8 NOT NULL)');
  const runs: string[] = [];
  const copy = db.client.query(copyFrom('COPY pg_temp.pgshift_ledger_file (id, line) FROM STDIN'));
  await pipeline(Readable.from(fileRows(path, runs)), copy);
  return runs;
}

export async function checkLedger(opts: LoadCheckOptions): Promise<LoadCheckReport> {
  const limit = opts.limit ?? 20;
  try {
    await access(opts.ledgerFile);
  } catch {
    throw new UsageError(`ledger file ${opts.ledgerFile} does not exist`, { hint: 'Pass the file given to "pgshift load --ledger FILE".' });
  }
  return withDb('target', opts.target, { database: opts.database, applicationName: 'pgshift load-check' }, async (db) => {
    const table = await db.maybeOne("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift_load' AND c.relname = 'ledger'");
    if (!table) {
      throw new ProblemError('no_ledger_table', `the target database ${opts.database} has no pgshift_load.ledger table`, {
        hint: 'The load schema must be on the target before replication starts: run "pgshift load DB --duration 1s" before "pgshift schema DB".',
      });
    }
    const runs = await loadFile(db, opts.ledgerFile);
    await db.query('ANALYZE pg_temp.pgshift_ledger_file');
    const [{ n }] = (await db.query<{ n: string }>('SELECT count(*)::int8 AS n FROM pg_temp.pgshift_ledger_file')) as [{ n: string }];
    const missing = await db.query<{ id: string; total: string }>(
      `SELECT f.id::text AS id, count(*) OVER ()::int8 AS total FROM pg_temp.pgshift_ledger_file f
        WHERE NOT EXISTS (SELECT 1 FROM pgshift_load.ledger l WHERE l.id = f.id)
        ORDER BY f.line LIMIT $1`, [limit]);
    const dups = await db.query<{ id: string; total: string }>(
      `SELECT l.id::text AS id, count(*) OVER ()::int8 AS total FROM pgshift_load.ledger l
        WHERE l.id IN (SELECT id FROM pg_temp.pgshift_ledger_file)
        GROUP BY l.id HAVING count(*) > 1 ORDER BY l.id LIMIT $1`, [limit]);
    const [{ u }] = (await db.query<{ u: string }>(
      `SELECT count(*)::int8 AS u FROM pgshift_load.ledger l
        WHERE l.run = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM pg_temp.pgshift_ledger_file f WHERE f.id = l.id)`, [runs])) as [{ u: string }];
    await db.query('DROP TABLE pg_temp.pgshift_ledger_file');
    const missingCount = Number(missing[0]?.total ?? 0);
    const dupCount = Number(dups[0]?.total ?? 0);
    return {
      database: opts.database,
      ledgerFile: opts.ledgerFile,
      runs,
      acknowledged: Number(n),
      missing: missingCount,
      missingIds: missing.map((r) => r.id),
      duplicated: dupCount,
      duplicatedIds: dups.map((r) => r.id),
      unacknowledged: Number(u),
      ok: missingCount === 0 && dupCount === 0,
    };
  });
}
