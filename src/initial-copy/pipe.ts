// The copy itself: N workers, each holding one source session inside the
// exported snapshot and one target session, pull ranges off a shared queue
// (largest first) and stream each as COPY ... TO STDOUT piped into
// COPY ... FROM STDIN. stream.pipeline carries backpressure end to end, so
// pgshift holds at most a few socket buffers per worker whatever the table
// size.

import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { EndpointConfig } from '../config/config.js';
import { AbortedError, throwIfAborted, wrapSqlError } from '../errors.js';
import { connect, type Db } from '../pg/connect.js';
import { qualify, quoteIdent, quoteLiteral } from '../pg/quote.js';
import type { CopyRange } from './plan.js';


/** A source session reading through the exported snapshot. */
export async function openSnapshotSession(source: EndpointConfig, database: string, snapshot: string): Promise<Db> {
  const db = await connect('source', source, { database, applicationName: 'pgshift fast copy' });
  try {
    await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await db.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshot)}`);
    return db;
  } catch (e) {
    await db.close();
    throw e;
  }
}

export interface RangeDone {
  range: CopyRange;
  rows: number;
  bytes: number;
  ms: number;
}

export interface PipeCallbacks {
  /** Bytes streamed so far for a range (called often; keep it cheap). */
  onBytes(range: CopyRange, bytes: number): void;
  onRangeDone(done: RangeDone): void;
}

function columnListSql(cols: string[]): string {
  return cols.length ? ` (${cols.map((c) => quoteIdent(c)).join(', ')})` : '';
}

export function copyOutSql(r: CopyRange): string {
  const t = r.table;
  const relSql = qualify(t.schema, t.name);
  const formatSql = t.format === 'binary' ? ' (FORMAT binary)' : '';
  if (!r.whereSql) return `COPY ${relSql}${columnListSql(t.columns)} TO STDOUT${formatSql}`;
  const selectSql = t.columns.map((c) => quoteIdent(c)).join(', ');
  const whereSql = r.whereSql;
  return `COPY (SELECT ${selectSql} FROM ONLY ${relSql} WHERE ${whereSql}) TO STDOUT${formatSql}`;
}

export function copyInSql(r: CopyRange): string {
  const t = r.table;
  const formatSql = t.format === 'binary' ? ' (FORMAT binary)' : '';
  return `COPY ${qualify(t.schema, t.name)}${columnListSql(t.columns)} FROM STDIN${formatSql}`;
}

async function copyRange(src: Db, tgt: Db, r: CopyRange, cb: PipeCallbacks, signal: AbortSignal): Promise<RangeDone> {
  const started = Date.now();
  const outSql = copyOutSql(r);
  const inSql = copyInSql(r);
  const reader = src.client.query(copyTo(outSql));
  const writer = tgt.client.query(copyFrom(inSql));
  let failedSide: 'source' | 'target' | undefined;
  reader.once('error', () => (failedSide ??= 'source'));
  writer.once('error', () => (failedSide ??= 'target'));
  let bytes = 0;
  let lastReport = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
      bytes += chunk.length;
      if (bytes - lastReport >= 1 << 20) {
        lastReport = bytes;
        cb.onBytes(r, bytes);
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(reader, counter, writer, { signal });
  } catch (e) {
    throwIfAborted(signal, 'fast copy');
    throw wrapSqlError(e, failedSide === 'source' ? outSql : inSql, failedSide ?? 'target');
  }
  cb.onBytes(r, bytes);
  return { range: r, rows: writer.rowCount, bytes, ms: Date.now() - started };
}

/**
 * Copy every range with one worker per source session. The first failure
 * stops the others; the caller closes the sessions.
 */
export async function copyRanges(opts: {
  sources: Db[];
  target: EndpointConfig;
  database: string;
  ranges: CopyRange[];
  callbacks: PipeCallbacks;
  signal?: AbortSignal;
}): Promise<void> {
  const queue = [...opts.ranges].sort((a, b) => b.estBytes - a.estBytes);
  const stop = new AbortController();
  const onOuterAbort = (): void => stop.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) stop.abort();
  const targets: Db[] = [];
  try {
    const workers = opts.sources.map(async (src) => {
      const tgt = await connect('target', opts.target, { database: opts.database, applicationName: 'pgshift fast copy' });
      targets.push(tgt);
      // The target tables have no triggers or foreign keys yet when fast copy
      // made the schema; when the user did, replica mode keeps their triggers
      // from rewriting copied rows. It needs a superuser: without one, go on.
      await tgt.query('SET session_replication_role = replica').catch(() => undefined);
      await tgt.query('SET synchronous_commit = off');
      for (;;) {
        if (stop.signal.aborted) return;
        const r = queue.shift();
        if (!r) return;
        opts.callbacks.onRangeDone(await copyRange(src, tgt, r, opts.callbacks, stop.signal));
      }
    });
    const results = await Promise.allSettled(workers.map((w) => w.catch((e: unknown) => {
      stop.abort();
      throw e;
    })));
    const failures = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected').map((x) => x.reason as Error);
    // The first real error, not the AbortedErrors it caused in the other workers.
    const first = failures.find((e) => !(e instanceof AbortedError)) ?? failures[0];
    if (first) throw first;
    throwIfAborted(opts.signal, 'fast copy');
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
    await Promise.all(targets.map((t) => t.close()));
  }
}
