// pgshift verify: compare a database on both sides by count, sample, or every
// row. Reads both sides in parallel on --jobs pairs of verified connections;
// on a live source, differences are re-checked once the target has applied
// the source position the range was read at. Memory stays flat: the database
// reduces ranges to hashes, and only small differing pieces come back as rows.

import type { EndpointConfig } from '../config/config.js';
import { listTables, tableKey, type TableInfo } from '../pg/catalog.js';
import { namesFor, type MigrationNames } from '../replication/names.js';
import { throwIfAborted } from '../errors.js';
import { silent, type Emit } from '../events.js';
import { chooseRowHash, rowHashProbeSql, type KeyRange, type RowHash } from './canonical.js';
import { countTable } from './count.js';
import { compareRange, planRanges, FULL_DEFAULTS, type FullOptions } from './full.js';
import { DifferenceLog } from './rows.js';
import { sampleTable } from './sample.js';
import { findLiveSlot, VerifyPair } from './session.js';
import { deferredBecause, deferredResult, emptyResult, incomparableResult, liveReplication, methodFor, settleResults, tablesToCompare, verifyOutcome, type SlotStates } from './derive.js';
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

/** Run `work` over items with one worker per connection pair. */
async function pool<T>(items: T[], pairs: VerifyPair[], signal: AbortSignal | undefined, work: (pair: VerifyPair, item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  await Promise.all(pairs.map(async (pair) => {
    while (failed === undefined && next < items.length) {
      throwIfAborted(signal, 'verify');
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
  const mode = opts.mode ?? VERIFY_DEFAULTS.mode;
  const log = new DifferenceLog(opts.limit ?? VERIFY_DEFAULTS.limit);
  const names = namesFor(opts.database);

  const first = await VerifyPair.open(opts.source, opts.target, opts.database, undefined);
  const pairs: VerifyPair[] = [];
  try {
    const tables = tablesToCompare(await listTables(first.source), opts.exclude ?? [], opts.tables, opts.database);
    const rowHash = opts.rowHash ?? await probeRowHash(first);
    const slots = await readSlots(first, names);
    const { live, warnings } = liveReplication(names, slots, opts.catchUpTimeoutMs ?? VERIFY_DEFAULTS.catchUpTimeoutMs);
    first.live = live;
    pairs.push(first);
    for (let i = 1; i < Math.max(1, opts.jobs ?? VERIFY_DEFAULTS.jobs); i++) pairs.push(await VerifyPair.open(opts.source, opts.target, opts.database, live));

    const copiedAtSwitchover = new Set((opts.copiedAtSwitchover ?? []).map(tableKey));
    const prepared = await prepareTables(pairs[0]!, tables, mode, rowHash, (t) => deferredBecause(t, slots.forward.exists, copiedAtSwitchover));
    await compareTables(opts, mode, pairs, prepared, log);

    const copiedAtRollback = slots.forward.exists ? new Set<string>() : new Set((opts.copiedAtRollback ?? []).map(tableKey));
    const settled = settleResults(tables.map((t) => prepared.results.get(t)!), prepared.incomparable, copiedAtRollback);
    warnings.push(...settled.warnings);
    const report: VerifyReport = {
      database: opts.database,
      mode,
      identical: settled.tables.every((r) => r.status !== 'differs'),
      tables: settled.tables,
      rows: settled.tables.reduce((a, r) => a + r.checkedRows, 0),
      ms: Date.now() - started,
      live: live !== undefined,
      truncated: log.truncated,
      warnings,
      rowHash,
    };
    (opts.emit ?? silent)({ type: 'result', data: verifyOutcome(report) });
    return report;
  } finally {
    if (!pairs.includes(first)) await first.close();
    await Promise.all(pairs.map((p) => p.close()));
  }
}

/** Which row hash both servers compute alike (see chooseRowHash). */
async function probeRowHash(pair: VerifyPair): Promise<RowHash> {
  const [srcProbe, tgtProbe] = await Promise.all([
    pair.source.one<{ encoding: string; probe: string | null }>(rowHashProbeSql(pair.source.version)),
    pair.target.one<{ encoding: string; probe: string | null }>(rowHashProbeSql(pair.target.version)),
  ]);
  return chooseRowHash(srcProbe, tgtProbe);
}

/** The forward slot on the source; the reverse one on the target only when the forward one is gone. */
async function readSlots(pair: VerifyPair, names: MigrationNames): Promise<SlotStates> {
  const forward = await findLiveSlot(pair.source, names.slot);
  if (forward.exists) return { forward };
  return { forward, reverse: await findLiveSlot(pair.target, names.reverseSlot) };
}

/** Each table's starting result, and the shapes of those whose rows are compared. */
interface PreparedTables {
  results: Map<TableInfo, TableResult>;
  shapes: Map<TableInfo, TableShape>;
  /** Keys of the tables whose shapes already differ (missing, other columns): never excused. */
  incomparable: Set<string>;
}

async function prepareTables(pair: VerifyPair, tables: TableInfo[], mode: VerifyMode, rowHash: RowHash, deferred: (t: TableInfo) => string | undefined): Promise<PreparedTables> {
  const prepared: PreparedTables = { results: new Map(), shapes: new Map(), incomparable: new Set() };
  const method = methodFor(mode);
  for (const t of tables) {
    const why = deferred(t);
    if (why) {
      prepared.results.set(t, deferredResult(t, method, why));
      continue;
    }
    const shape = await loadShape(pair.source, pair.target, t, rowHash);
    if ('problem' in shape) {
      prepared.results.set(t, incomparableResult(t, method, shape.problem));
      prepared.incomparable.add(tableKey(t));
      continue;
    }
    const r = emptyResult(t, method);
    r.keyColumns = shape.keyColumns;
    if (shape.keyColumns.length === 0 && mode === 'full') r.method = 'whole';
    prepared.results.set(t, r);
    prepared.shapes.set(t, shape);
  }
  return prepared;
}

/** Read the rows of every table with a shape on both sides, filling in its result. */
async function compareTables(opts: VerifyOptions, mode: VerifyMode, pairs: VerifyPair[], { results, shapes }: PreparedTables, log: DifferenceLog): Promise<void> {
  const emit = opts.emit ?? silent;
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
    const fullOpts: FullOptions = { ...FULL_DEFAULTS, ...opts.full };
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
