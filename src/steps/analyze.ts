// Step "analyze": planner statistics on the target before it serves. The
// initial copy (COPY, or fast copy's COPY into index-less tables) leaves the
// target's tables without statistics until autovacuum gets to them, so the
// first queries after a switchover could be planned blind. This runs
// ANALYZE (VACUUM ANALYZE with vacuum: also sets the visibility map, so
// index-only scans work from the start) on every replicated table of the
// target, in parallel sessions, largest tables first.
// Partitioned tables: from 18, each table (partitions and partitioned
// tables alike) is analyzed on its own with ONLY; before 18 a partitioned
// table's ANALYZE always recurses into its partitions, so only the top one
// is run and it covers the rest (no partition is analyzed twice).
// Needs: the schema on the target (the copy done, for statistics worth having).
// Changes nothing but statistics (and, with vacuum, dead rows and the
// visibility map); safe to run any number of times. `run` runs it once the
// copy is done, unless every table already has statistics.

import type { Config } from '../config/config.js';
import { databaseConfig } from '../config/config.js';
import { AbortedError, ProblemError } from '../errors.js';
import { silent, warning, type Emit } from '../events.js';
import { connect, type Db } from '../pg/connect.js';
import { tableKey } from '../pg/catalog.js';
import { qualify } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf, type ServerVersion } from '../pg/version.js';
import { planPublication } from '../replication/publication.js';

export const DEFAULT_ANALYZE_JOBS = 4;

export interface TargetTable {
  schema: string;
  name: string;
  relkind: 'r' | 'p';
  isPartition: boolean;
  bytes: number;
  analyzed: boolean;
}

export interface AnalyzeOptions {
  /** Parallel sessions on the target (default 4, never more than there are tables). */
  jobs?: number;
  /** VACUUM ANALYZE instead of ANALYZE. */
  vacuum?: boolean;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface AnalyzeResult {
  database: string;
  vacuum: boolean;
  jobs: number;
  ms: number;
  /** Every replicated table of the target (partitions included). */
  tables: number;
  /** The statements run, one per table or partition tree, with their time. */
  analyzed: { table: string; statement: string; ms: number }[];
}

/** The replicated tables as the source names them (the plan `start` publishes). */
async function replicatedOnSource(config: Config, database: string): Promise<{ schema: string; name: string }[]> {
  const source = await connect('source', config.source, { database, applicationName: 'pgshift analyze' });
  try {
    return (await planPublication(source, databaseConfig(config, database))).tables.map((t) => ({ schema: t.schema, name: t.name }));
  } finally {
    await source.close();
  }
}

/** The target's tables replication fills, with whether each has statistics (analyze-tables.sql). */
export async function targetTables(target: Db, replicated: { schema: string; name: string }[]): Promise<TargetTable[]> {
  if (replicated.length === 0) return [];
  const rows = await target.query<{ schema: string; name: string; relkind: 'r' | 'p'; is_partition: boolean; bytes: string; analyzed: boolean }>(
    sqlFile('analyze-tables'), [replicated.map((t) => t.schema), replicated.map((t) => t.name)]);
  return rows.map((r) => ({ schema: r.schema, name: r.name, relkind: r.relkind, isPartition: r.is_partition, bytes: Number(r.bytes), analyzed: r.analyzed }));
}

/** The replicated tables of a database the target has no statistics for (the switchover preflight warns about them). */
export async function tablesNeverAnalyzed(config: Config, database: string, target: Db): Promise<string[]> {
  const tables = await targetTables(target, await replicatedOnSource(config, database));
  return tables.filter((t) => !t.analyzed).map(tableKey).sort();
}

/** One statement per table: ONLY on 18+; before, a partition is covered by its partitioned root's recursion. */
export function analyzeStatements(tables: TargetTable[], version: ServerVersion, vacuum: boolean): { table: string; statement: string; bytes: number }[] {
  const only = featuresOf(version).analyzeOnly;
  const out: { table: string; statement: string; bytes: number; last: boolean }[] = [];
  for (const t of tables) {
    if (!only && t.isPartition) continue;
    // VACUUM of a partitioned table itself does nothing but recurse: ANALYZE is what it needs.
    const verb = vacuum && t.relkind === 'r' ? 'VACUUM (ANALYZE)' : 'ANALYZE';
    // From 18 a partitioned table's sample reads partitions the other jobs have just read: last, with a warm cache.
    out.push({ table: tableKey(t), statement: `${verb} ${only ? 'ONLY ' : ''}${qualify(t.schema, t.name)}`, bytes: t.bytes, last: only && t.relkind === 'p' });
  }
  return out.sort((a, b) => Number(a.last) - Number(b.last) || b.bytes - a.bytes).map(({ table, statement, bytes }) => ({ table, statement, bytes }));
}

export async function analyzeTarget(config: Config, database: string, opts: AnalyzeOptions = {}): Promise<AnalyzeResult> {
  databaseConfig(config, database);
  const emit = opts.emit ?? silent;
  const vacuum = opts.vacuum === true;
  const t0 = Date.now();
  const replicated = await replicatedOnSource(config, database);
  const control = await connect('target', config.target, { database, applicationName: 'pgshift analyze' });
  const workers: Db[] = [];
  const analyzed: AnalyzeResult['analyzed'] = [];
  const failed: string[] = [];
  let onAbort: (() => void) | undefined;
  try {
    const tables = await targetTables(control, replicated);
    const todo = analyzeStatements(tables, control.version, vacuum);
    const jobs = Math.max(1, Math.min(opts.jobs ?? DEFAULT_ANALYZE_JOBS, todo.length));
    if (todo.length === 0) return { database, vacuum, jobs: 0, ms: Date.now() - t0, tables: tables.length, analyzed };
    emit({ type: 'info', message: `${vacuum ? 'VACUUM ANALYZE' : 'ANALYZE'} of ${todo.length} statement(s) covering ${tables.length} table(s) of "${database}" on the target, ${jobs} at a time`, data: { tables: tables.length, statements: todo.length, jobs } });
    for (let i = 0; i < jobs; i++) {
      const w = await connect('target', config.target, { database, applicationName: 'pgshift analyze' });
      workers.push(w);
      // A statement_timeout set for the application's role must not cut a VACUUM of a large table short.
      await w.query('SET statement_timeout = 0');
    }
    // Ctrl-C stops the statements running now, not only the ones still queued.
    const pids = await Promise.all(workers.map((w) => w.pid()));
    onAbort = () => {
      void control.query('SELECT pg_catalog.pg_cancel_backend(p) FROM unnest($1::int[]) AS p', [pids]).catch(() => undefined);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const totalBytes = todo.reduce((n, t) => n + t.bytes, 0);
    let doneBytes = 0;
    let next = 0;
    const progress = (): void => {
      const elapsed = Date.now() - t0;
      const rate = elapsed > 0 ? (doneBytes / elapsed) * 1000 : undefined;
      emit({
        type: 'progress', task: 'analyze', label: `analyze ${analyzed.length + failed.length}/${todo.length} tables`,
        done: doneBytes, total: totalBytes, unit: 'bytes', rate,
        etaMs: doneBytes > 0 && doneBytes < totalBytes ? Math.round((elapsed * (totalBytes - doneBytes)) / doneBytes) : undefined,
      });
    };
    progress();
    await Promise.all(workers.map(async (w) => {
      while (next < todo.length && !opts.signal?.aborted) {
        const job = todo[next++]!;
        const s = Date.now();
        try {
          await w.query(job.statement);
          analyzed.push({ table: job.table, statement: job.statement, ms: Date.now() - s });
        } catch (e) {
          if (opts.signal?.aborted) break;
          failed.push(`${job.table}: ${(e as Error).message}`);
          emit(warning('analyze_table_failed', `${job.statement} failed on the target: ${(e as Error).message}`, undefined, { table: job.table }));
        }
        doneBytes += job.bytes;
        progress();
      }
    }));
    if (opts.signal?.aborted) throw new AbortedError(`analyze of "${database}" interrupted after ${analyzed.length} of ${todo.length} table(s)`);
    if (failed.length) {
      throw new ProblemError('analyze_failed', `analyze of "${database}": ${failed.length} of ${todo.length} statement(s) failed on the target: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; ...' : ''}`, {
        hint: `The other tables have their statistics. Fix the cause named above, then run "pgshift analyze ${database}" again.`,
      });
    }
    return { database, vacuum, jobs, ms: Date.now() - t0, tables: tables.length, analyzed };
  } finally {
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    await Promise.all([control, ...workers].map((d) => d.close()));
  }
}
