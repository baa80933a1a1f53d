// pgshift verify: compare a database on both sides by count, sample, or every
// row. Reads both sides in parallel on --jobs pairs of verified connections;
// on a live source, differences are re-checked once the target has applied
// the source position the range was read at. Memory stays flat: the database
// reduces ranges to hashes, and only small differing pieces come back as rows.

import type { EndpointConfig } from '../config/config.js';
import { listTables, matchesPattern, replicatedTables, tableKey, type TableInfo } from '../pg/catalog.js';
import { namesFor } from '../replication/names.js';
import { AbortedError, UsageError } from '../errors.js';
import { silent, type Emit } from '../events.js';
import { chooseRowHash, rowHashProbeSql, type KeyRange, type RowHash } from './canonical.js';
import { countTable } from './count.js';
import { compareRange, planRanges, FULL_DEFAULTS, type FullOptions } from './full.js';
import { DifferenceLog } from './rows.js';
import { sampleTable } from './sample.js';
import { findLiveSlot, VERIFY_ROUNDS, VerifyPair, type LiveSlot } from './session.js';
import { loadShape, type TableShape } from './shape.js';
import type { TableResult, VerifyMode, VerifyReport } from './report.js';

export type { VerifyReport, TableResult, RowDifference, VerifyMode } from './report.js';

export interface VerifyOptions {
  source: EndpointConfig;
  target: EndpointConfig;
  database: string;
  /** Tables the config leaves out of replication. */
  exclude?: string[];
  /**
   * Tables replication does not carry because they have no usable replica
   * identity (tablesReplicationCannotCarry in src/steps/start.ts): while
   * forward replication runs they are reported as copied at switchover
   * instead of compared. Unlogged tables are recognised without this list.
   */
  copiedAtSwitchover?: { schema: string; name: string }[];
  /**
   * After a switchover (forward slot gone, the reverse slot on the target):
   * target tables the reverse replication does not carry (planReverse's
   * notCarried). The new primary's writes to them reach the source only by
   * the copy a rollback makes, so they are reported as copied at rollback
   * instead of compared.
   */
  copiedAtRollback?: { schema: string; name: string }[];
  mode?: VerifyMode;
  /** Only these tables ("schema.table", "schema.*", quoted parts allowed). */
  tables?: string[];
  /** Pairs of connections reading at once. */
  jobs?: number;
  /** Differences listed (all are counted). */
  limit?: number;
  /** Rows per table in sample mode (random, and last by key). */
  sampleSize?: number;
  full?: Partial<FullOptions>;
  /** Force a row hash (tests); by default chosen by probing both servers. */
  rowHash?: RowHash;
  /** How long a re-check waits for the target to reach the source position. */
  catchUpTimeoutMs?: number;
  emit?: Emit;
  signal?: AbortSignal;
}


export const VERIFY_DEFAULTS = { mode: 'full' as VerifyMode, jobs: 2, limit: 100, sampleSize: 100, catchUpTimeoutMs: 60_000 };

/** Split "a.b,\"x,y\".z" on commas outside double quotes. */
export function splitTableList(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      if (cur.trim()) out.push(cur.trim());
      cur = '';
    } else {
      cur += c;
    }
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function emptyResult(t: TableInfo, method: TableResult['method']): TableResult {
  return {
    table: tableKey(t), schema: t.schema, name: t.name, status: 'same', method, keyColumns: [],
    checkedRows: 0, differingRanges: 0, differenceCount: 0, unsettledRows: 0, differences: [], ms: 0,
  };
}

/** Run `work` over items with one worker per connection pair. */
async function pool<T>(items: T[], pairs: VerifyPair[], signal: AbortSignal | undefined, work: (pair: VerifyPair, item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(pairs.map(async (pair) => {
    while (failed === undefined && next < items.length) {
      if (signal?.aborted) throw new AbortedError('verify interrupted');
      const item = items[next++]!;
      try {
        await work(pair, item);
      } catch (e) {
        failed ??= e;
      }
    }
  }));
  if (failed !== undefined) throw failed;
}

export async function verifyDatabase(opts: VerifyOptions): Promise<VerifyReport> {
  const started = Date.now();
  const emit = opts.emit ?? silent;
  const mode = opts.mode ?? VERIFY_DEFAULTS.mode;
  const jobs = Math.max(1, opts.jobs ?? VERIFY_DEFAULTS.jobs);
  const fullOpts: FullOptions = { ...FULL_DEFAULTS, ...opts.full };
  const log = new DifferenceLog(opts.limit ?? VERIFY_DEFAULTS.limit);
  const warnings: string[] = [];

  const first = await VerifyPair.open(opts.source, opts.target, opts.database, undefined);
  const pairs: VerifyPair[] = [];
  try {
    // Which tables: what pgshift replicates for this database, partitioned tables through
    // their root, and the unlogged tables the switchover copies.
    const exclude = opts.exclude ?? [];
    const all = await listTables(first.source);
    const unlogged = all.filter((t) => t.persistence === 'u' && !t.extension && !t.isPartition && !exclude.some((p) => matchesPattern(t, p)));
    const compared = new Set([...replicatedTables(all, exclude, true), ...unlogged]);
    let tables = all.filter((t) => compared.has(t));
    if (opts.tables?.length) {
      for (const p of opts.tables) {
        if (!tables.some((t) => matchesPattern(t, p))) {
          throw new UsageError(`--tables: "${p}" matches no replicated table in database ${opts.database}`, {
            hint: 'Write tables as schema.table (or schema.* for a schema); quote a name holding a dot or comma: "my.schema".t',
          });
        }
      }
      tables = tables.filter((t) => opts.tables!.some((p) => matchesPattern(t, p)));
    }

    const [srcProbe, tgtProbe] = await Promise.all([
      first.source.one<{ encoding: string; probe: string | null }>(rowHashProbeSql(first.source.version)),
      first.target.one<{ encoding: string; probe: string | null }>(rowHashProbeSql(first.target.version)),
    ]);
    const rowHash = opts.rowHash ?? chooseRowHash(srcProbe, tgtProbe);

    const names = namesFor(opts.database);
    const slotName = names.slot;
    const slot = await findLiveSlot(first.source, slotName);
    let live: LiveSlot | undefined;
    const timeoutMs = opts.catchUpTimeoutMs ?? VERIFY_DEFAULTS.catchUpTimeoutMs;
    if (slot.active) {
      live = { direction: 'forward', slot: slotName, subscription: names.subscription, timeoutMs };
    } else if (slot.exists) {
      warnings.push(`replication slot ${slotName} exists but nothing streams from it: differences are reported without waiting for the target to catch up`);
    } else {
      // After a switchover the target takes the writes and its reverse slot carries them back.
      const back = await findLiveSlot(first.target, names.reverseSlot);
      if (back.active) live = { direction: 'reverse', slot: names.reverseSlot, subscription: names.reverseSubscription, timeoutMs };
      else if (back.exists) warnings.push(`reverse replication slot ${names.reverseSlot} exists on the target but nothing streams from it: differences are reported without waiting for the source to catch up`);
    }
    first.live = live;
    pairs.push(first);
    for (let i = 1; i < jobs; i++) pairs.push(await VerifyPair.open(opts.source, opts.target, opts.database, live));

    // While forward replication runs (its slot exists), a table it does not carry is
    // filled by the switchover, not before: comparing it now would report its rows as missing.
    const notCarried = new Set((opts.copiedAtSwitchover ?? []).map(tableKey));
    const notCarriedBack = slot.exists ? new Set<string>() : new Set((opts.copiedAtRollback ?? []).map(tableKey));
    const deferredBecause = (t: TableInfo): string | undefined => {
      if (!slot.exists) return undefined;
      if (t.persistence === 'u') return 'unlogged table';
      return notCarried.has(tableKey(t)) ? `no usable replica identity${t.relkind === 'p' ? ' on a partition' : ''}, see pgshift check` : undefined;
    };

    const results = new Map<TableInfo, TableResult>();
    const shapes = new Map<TableInfo, TableShape>();
    // Tables whose shapes already differ (missing, other columns): never excused below.
    const incomparable = new Set<TableInfo>();
    for (const t of tables) {
      const method: TableResult['method'] = mode === 'count' ? 'count' : mode === 'sample' ? 'sample' : 'ranges';
      const r = emptyResult(t, method);
      results.set(t, r);
      const why = deferredBecause(t);
      if (why) {
        r.status = 'deferred';
        r.note = `copied at switchover (replication does not carry it: ${why}), compared after it`;
        continue;
      }
      const shape = await loadShape(pairs[0]!.source, pairs[0]!.target, t, rowHash);
      if ('problem' in shape) {
        r.status = 'differs';
        r.problem = shape.problem;
        r.differenceCount = 1;
        incomparable.add(t);
        continue;
      }
      r.keyColumns = shape.keyColumns;
      if (shape.keyColumns.length === 0 && mode === 'full') r.method = 'whole';
      shapes.set(t, shape);
    }

    const progress = mode === 'count'
      ? new Progress(emit, `verify ${opts.database}`, 'tables', shapes.size)
      : new Progress(emit, `verify ${opts.database}`, 'rows', [...shapes.keys()].reduce((a, t) => a + t.estRows, 0));
    const timed = async (t: TableInfo, fn: () => Promise<void>): Promise<void> => {
      const t0 = Date.now();
      await fn();
      results.get(t)!.ms += Date.now() - t0;
    };

    if (mode === 'count' || mode === 'sample') {
      await pool([...shapes.keys()], pairs, opts.signal, async (pair, t) => {
        await timed(t, async () => {
          const r = results.get(t)!;
          if (mode === 'count') await countTable(pair, shapes.get(t)!, r);
          else await sampleTable(pair, shapes.get(t)!, r, log, opts.sampleSize ?? VERIFY_DEFAULTS.sampleSize);
          progress.add(mode === 'count' ? 1 : r.checkedRows);
        });
      });
    } else {
      const plans: { table: TableInfo; range: KeyRange }[] = [];
      await pool([...shapes.keys()], pairs, opts.signal, async (pair, t) => {
        await timed(t, async () => {
          const ranges = await planRanges(pair, shapes.get(t)!, fullOpts);
          results.get(t)!.ranges = ranges.length;
          for (const range of ranges) plans.push({ table: t, range });
        });
      });
      await pool(plans, pairs, opts.signal, async (pair, { table, range }) => {
        await timed(table, async () => {
          const r = results.get(table)!;
          const rows = await compareRange(pair, shapes.get(table)!, range, r, log, fullOpts);
          r.checkedRows += rows;
          progress.add(rows);
        });
      });
    }
    progress.finish();

    const list = tables.map((t) => results.get(t)!);
    const shapeless = new Set([...incomparable].map((t) => results.get(t)!));
    for (const r of list) {
      if (r.status === 'differs' && r.differenceCount === 0 && !r.problem) r.status = 'same';
      if (r.status === 'same' && r.unsettledRows > 0) r.status = 'unsettled';
      // After a switchover, a table reverse replication does not carry differs
      // once the new primary writes to it: expected, and what a rollback copies.
      if ((r.status === 'differs' || r.status === 'unsettled') && !shapeless.has(r) && notCarriedBack.has(r.table)) {
        r.status = 'deferred';
        r.note = 'changed on the target since the switchover; reverse replication does not carry it (no usable replica identity on the target, unlogged, or columns the source lacks): a rollback copies it to the source while writes are paused';
        delete r.problem;
        continue;
      }
      if (r.status === 'unsettled') {
        warnings.push(`${r.table}: ${r.method === 'whole' ? 'the table' : `${r.unsettledRows} row${r.unsettledRows === 1 ? '' : 's'}`} kept changing on the source through ${VERIFY_ROUNDS} re-checks and could not be compared; verify again when writes pause (e.g. after switchover)`);
      }
      if (r.unconfirmed) warnings.push(`${r.table}: the target did not reach the source position within the wait; its differences may be replication lag`);
    }
    const report: VerifyReport = {
      database: opts.database,
      mode,
      identical: list.every((r) => r.status !== 'differs'),
      tables: list,
      rows: list.reduce((a, r) => a + r.checkedRows, 0),
      ms: Date.now() - started,
      live: live !== undefined,
      truncated: log.truncated,
      warnings,
      rowHash,
    };
    emit({
      type: 'result',
      data: {
        kind: 'verify', database: report.database, mode, identical: report.identical, tables: list.length, rows: report.rows, ms: report.ms, live: report.live,
        differing: list.filter((r) => r.status === 'differs').map((r) => ({ table: r.table, differences: r.differenceCount, ...(r.problem ? { problem: r.problem } : {}) })),
        unsettled: list.filter((r) => r.status === 'unsettled').map((r) => r.table),
        deferred: list.filter((r) => r.status === 'deferred').map((r) => r.table),
        warnings,
      },
    });
    return report;
  } finally {
    if (!pairs.includes(first)) await first.close();
    await Promise.all(pairs.map((p) => p.close()));
  }
}

/** rows/s and ETA, at most a few events a second. */
class Progress {
  private done = 0;
  private last = 0;
  private readonly start = Date.now();
  constructor(private readonly emit: Emit, private readonly label: string, private readonly unit: 'rows' | 'tables', private readonly total: number) {}

  add(amount: number): void {
    this.done += amount;
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    this.send();
  }

  private send(): void {
    const secs = (Date.now() - this.start) / 1000;
    const rate = secs > 0 ? this.done / secs : undefined;
    // Row totals are planner estimates: never let the bar run past the end.
    const total = Math.max(this.total, this.done);
    const etaMs = rate ? ((total - this.done) / rate) * 1000 : undefined;
    this.emit({ type: 'progress', task: 'verify', label: this.label, done: this.done, total, unit: this.unit, rate, etaMs });
  }

  finish(): void {
    this.send();
  }
}
