// Shared by the non-superuser end-to-end tests: the migration roles'
// passwords, creating a role without its password reaching the server log,
// writers as the application role that record every acknowledged write, and
// what pgshift may have left on a cluster. Does nothing on import.

import assert from 'node:assert/strict';
import pg from 'pg';
import { runCli, type CliResult } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { quoteIdent, quoteLiteral } from '../../src/pg/quote.js';
import { holding, leakForms } from './server-log.js';

export const MIGRATOR_PW = `Mg7srcPW ' \\ @ % "q" = ü :/?#&+ end`;
export const TADMIN_PW = `Ta7tgtPW ' \\ @ % "q" = ü :/?#&+ end`;
export const APP_PW = "app pw ' \\ @ %";
export const NEEDLES = ['Mg7srcPW', 'Ta7tgtPW', ...leakForms(MIGRATOR_PW), ...leakForms(TADMIN_PW)];

export function env(): Record<string, string> {
  return { PGSHIFT_SOURCE_PASSWORD: MIGRATOR_PW, PGSHIFT_TARGET_PASSWORD: TADMIN_PW };
}

/** Create a login role as the cluster's superuser, its password kept out of the server log. */
export async function createRole(c: EmbeddedCluster, name: string, password: string, attrs: string): Promise<void> {
  const client = await c.client();
  try {
    await client.query("SET log_statement = 'none'; SET log_min_duration_statement = -1; SET log_min_error_statement = 'panic'");
    await client.query(`CREATE ROLE ${quoteIdent(name)} ${attrs} PASSWORD ${quoteLiteral(password)}`);
  } finally {
    await client.end();
  }
}

/** Writers as "app" straight to the source, recording every acknowledged id, until the fence cuts them off. */
export function startWriters(c: EmbeddedCluster, db: string, n: number): { acked: Set<string>; stop: () => void; done: Promise<number> } {
  const acked = new Set<string>();
  let stopped = false;
  let cut = 0;
  const one = async (i: number): Promise<void> => {
    const client = new pg.Client({ host: c.host, port: c.port, user: 'app', password: APP_PW, database: db, connectionTimeoutMillis: 3000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      for (let k = 0; !stopped; k++) {
        const r = await client.query<{ id: string }>('INSERT INTO ledger (client, k) VALUES ($1, $2) RETURNING id::text', [i, k]);
        acked.add(r.rows[0]!.id);
        // A small load: a few hundred writes a second in all.
        await new Promise((res) => setTimeout(res, 10));
      }
    } catch {
      cut++;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const done = Promise.all(Array.from({ length: n }, (_, i) => one(i))).then(() => cut);
  return { acked, stop: () => { stopped = true; }, done };
}

/** pgshift's slots and subscriptions on a cluster, and its publications in one database. */
export async function pgshiftObjects(c: EmbeddedCluster, db: string): Promise<string[]> {
  const out: string[] = [];
  out.push(...(await c.sql<{ n: string }>("SELECT slot_name::text AS n FROM pg_replication_slots WHERE slot_name LIKE 'pgshift%'")).map((r) => `slot ${r.n}`));
  out.push(...(await c.sql<{ n: string }>("SELECT subname::text AS n FROM pg_subscription WHERE subname LIKE 'pgshift%'")).map((r) => `subscription ${r.n}`));
  const hasDb = (await c.sql('SELECT 1 FROM pg_database WHERE datname = $1', [db])).length > 0;
  if (hasDb) out.push(...(await c.sql<{ n: string }>("SELECT pubname::text AS n FROM pg_publication WHERE pubname LIKE 'pgshift%'", [], db)).map((r) => `publication ${r.n}`));
  return out;
}

/** Every pgshift run of a test file, kept so the file can prove no output held a password. */
export class RecordedCli {
  private readonly outputs: { what: string; r: CliResult }[] = [];

  /** Run pgshift with both migration passwords; assert the exit code unless it is null. */
  async run(what: string, args: string[], expectCode: number | null = 0): Promise<CliResult> {
    const r = await runCli(args, { env: env(), timeoutMs: 120_000 });
    this.outputs.push({ what, r });
    if (expectCode !== null) assert.equal(r.code, expectCode, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
    return r;
  }

  assertNoPasswordPrinted(): void {
    for (const { what, r } of this.outputs) assert.deepEqual(holding(r.stdout + '\n' + r.stderr, NEEDLES), [], `${what} printed a password`);
  }
}
