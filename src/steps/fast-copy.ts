// Step "start --copy fast": forward replication whose initial copy pgshift
// does itself, faster than PostgreSQL's copy_data.
//
// What it does, in order:
//   1. on the source, the replica identities and the publication pgshift_<db>
//      exactly as "start" plans them (planPublication). The publication must
//      exist before the slot: pgoutput looks publications up as of each
//      change it decodes, and before 18 a change older than the publication
//      stops the stream with "publication does not exist";
//   2. on a replication connection, the slot pgshift_<db> (pgoutput) with an
//      exported snapshot; the connection stays open and idle until the copy
//      ends, because the snapshot dies with it;
//   3. on the target, the database if missing, and the schema's pre-data part
//      (dumped through that snapshot) when the target has no tables yet;
//   4. every leaf table copied by N workers inside the snapshot, large tables
//      split into ranges (src/initial-copy/pipe.ts, src/initial-copy/plan.ts);
//   5. the post-data part built in parallel (src/initial-copy/schema-sections.ts), and
//      the source's replica identities mirrored on the target;
//   6. the subscription pgshift_<db> on the slot, with copy_data = false and
//      create_slot = false: it streams from the snapshot's consistent point,
//      so no row is lost and none is applied twice.
// Needs: what "start" needs, plus pg_dump/pg_restore/psql (as for "schema");
// the target database empty of tables, or holding exactly the source schema
// with empty tables (then pre- and post-data are there already).
// Idempotent by looking at the clusters: the subscription exists -> done.
// The slot exists without the subscription -> a fast copy died (its snapshot
// is gone with its connection): the tables of our publication are emptied on
// the target, then the slot is dropped, and the copy starts again; objects of
// the post-data part already built are kept. Emptying comes first so that a
// run killed between the two still finds the slot, and with it the knowledge
// that the rows on the target are its own (without the slot, rows on the
// target are refused as the user's).
// Fault points (src/util/fault.ts), in order: after:fast-copy-publication,
// -slot, -pre-data, -table (each table copied), -data, -post-data, -identity,
// -subscription; on a restart, after:fast-copy-emptied (the leftover's tables
// emptied, its slot not yet dropped) and after:fast-copy-slot-dropped.
// A failed run (not a killed one) undoes itself the same way: slot dropped,
// filled tables emptied. Undo after success: "pgshift cleanup DB".

import { databaseConfig, type Config, type DatabaseConfig } from '../config/config.js';
import { PgshiftError, ProblemError, SafetyError, throwIfAborted } from '../errors.js';
import type { Emit } from '../events.js';
import { silent, warning } from '../events.js';
import { connect, type Db } from '../pg/connect.js';
import { listTables, tableKey, tableNames, tablesWithRows, type TableInfo } from '../pg/catalog.js';
import { qualify } from '../pg/quote.js';
import { dumpTools, type DumpTools } from '../pg/tools.js';
import { formatBytes, formatDuration } from '../util/duration.js';
import { faultPoint } from '../util/fault.js';
import { createSnapshotSlot, type SnapshotSlot } from '../initial-copy/snapshot-slot.js';
import { planCopyTables, partsFor, splitTable, type CopyRange, type CopyTable } from '../initial-copy/plan.js';
import { copyRanges, openSnapshotSession, type RangeDone } from '../initial-copy/pipe.js';
import { applyPreData, buildPostData, SchemaArchive, type PostDataReport } from '../initial-copy/schema-sections.js';
import { namesFor, type MigrationNames } from '../replication/names.js';
import { mirrorIdentityOnTarget, waitInactive } from './start.js';
import { appliedOn, createTargetDatabase, dropCreatedDatabase, schemaIsApplied } from './schema.js';
import { IdentityChanges, refuseUnrecordable } from '../replication/identity-record.js';
import { refuseUnrestorable } from '../checks/restore.js';
import { compareDatabaseProperties, planDatabaseProperties, readDatabaseProperties } from './database-properties.js';
import { findPublication, findSlot, findSubscription, subscriptionConninfo } from '../replication/subscription.js';
import { refuseMissingPrivileges, refuseTargetRows, refuseUnsupportedPair } from '../checks/preflight.js';
import { type NotCarriedTable, type PublicationPlan, applyIdentityPlan, planChangesIdentities, planPublication, syncPublication } from '../replication/publication.js';
import { createSubscription, subscriptionOptions, warnStoredPassword } from '../replication/subscription.js';
import { pgshiftPublicationEntries } from '../initial-copy/dump-entries.js';

export const DEFAULT_FAST_COPY_JOBS = 4;
/** Tables larger than this are split into ranges of about this size. */
export const DEFAULT_SPLIT_BYTES = 256 * 1024 * 1024;

export interface FastCopyOptions {
  /** Parallel copy workers and index builders (default 4). */
  jobs?: number;
  /** Split tables larger than this many bytes (default 256 MB); tests force small values. */
  splitBytes?: number;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface FastCopyTableReport {
  table: string;
  rows: number;
  bytes: number;
  ranges: number;
  format: 'binary' | 'text';
  ms: number;
}

export interface FastCopyReport {
  database: string;
  /** The subscription already existed: nothing was done. */
  alreadyDone: boolean;
  /** A previous fast copy had died; its slot was dropped and its tables emptied first. */
  restarted: boolean;
  publication: { name: string; tables: number };
  slot: { name: string; consistentPoint: string | null };
  subscription: { name: string; options: string[] };
  schema: { preData: 'applied' | 'present' | 'skipped'; postData: PostDataReport | null };
  tables: FastCopyTableReport[];
  totals: { rows: number; bytes: number; copyMs: number; totalMs: number };
  notCarried: NotCarriedTable[];
}

async function dropOurSlot(source: Db, slot: string, signal?: AbortSignal): Promise<void> {
  if (!(await waitInactive(source, slot, signal))) {
    const s = await findSlot(source, slot);
    throw new SafetyError('slot_in_use', `replication slot ${slot} on the source is in use (pid ${s?.activePid}) but no subscription uses it`, {
      hint: 'Another pgshift run (or another client) is using this slot. Wait for it to end, or stop it, then run start again.',
    });
  }
  await source.query('SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = $1', [slot]);
}

async function truncate(target: Db, tables: CopyTable[]): Promise<void> {
  if (tables.length === 0) return;
  await target.query(`TRUNCATE ONLY ${tables.map((t) => qualify(t.schema, t.name)).join(', ')}`);
}


/** Per-table and overall progress, emitted at most once a second. */
class CopyProgress {
  private readonly started = Date.now();
  private readonly inFlight = new Map<CopyRange, number>();
  private doneBytes = 0;
  private readonly perTable = new Map<string, { rows: number; bytes: number; rangesDone: number; first: number; last: number }>();
  private lastEmit = 0;

  constructor(private readonly emit: Emit, private readonly totalEstBytes: number, private readonly rangeCount: number) {}

  private tableOf(r: CopyRange): { rows: number; bytes: number; rangesDone: number; first: number; last: number } {
    const k = tableKey(r.table);
    let t = this.perTable.get(k);
    if (!t) {
      t = { rows: 0, bytes: 0, rangesDone: 0, first: Date.now(), last: Date.now() };
      this.perTable.set(k, t);
    }
    return t;
  }

  bytes(r: CopyRange, n: number): void {
    this.tableOf(r);
    this.inFlight.set(r, n);
    this.maybeEmit();
  }

  rangeDone(d: RangeDone): void {
    const t = this.tableOf(d.range);
    t.rows += d.rows;
    t.bytes += d.bytes;
    t.rangesDone++;
    t.last = Date.now();
    this.inFlight.delete(d.range);
    this.doneBytes += d.bytes;
    const tableDone = t.rangesDone === d.range.of;
    const secs = Math.max(0.001, (t.last - t.first) / 1000);
    this.emit({
      type: 'progress', task: 'copy', label: tableKey(d.range.table), done: t.bytes, unit: 'bytes', rate: Math.round(t.bytes / secs),
      ...(tableDone ? { total: t.bytes } : {}),
    });
    if (tableDone) {
      faultPoint('after:fast-copy-table');
      this.emit({ type: 'info', message: `copied ${tableKey(d.range.table)}: ${t.rows} rows, ${formatBytes(t.bytes)} in ${formatDuration(t.last - t.first)}${d.range.of > 1 ? ` (${d.range.of} ranges)` : ''}`,
        data: { table: tableKey(d.range.table), rows: t.rows, bytes: t.bytes, ranges: d.range.of, ms: t.last - t.first } });
    }
    this.maybeEmit(true);
  }

  report(table: CopyTable): { rows: number; bytes: number; ms: number } {
    const t = this.perTable.get(tableKey(table));
    return t ? { rows: t.rows, bytes: t.bytes, ms: t.last - t.first } : { rows: 0, bytes: 0, ms: 0 };
  }

  private maybeEmit(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastEmit < 1000) return;
    this.lastEmit = now;
    let flying = 0;
    for (const n of this.inFlight.values()) flying += n;
    const done = this.doneBytes + flying;
    const rate = done / Math.max(0.001, (now - this.started) / 1000);
    // Relation size stands in for COPY stream size: close enough for an ETA.
    const total = Math.max(this.totalEstBytes, done);
    for (const [r, n] of this.inFlight) {
      this.emit({ type: 'progress', task: 'copy', label: `${tableKey(r.table)}${r.of > 1 ? ` [${r.part}/${r.of}]` : ''}`, done: n, total: Math.round(r.estBytes), unit: 'bytes' });
    }
    this.emit({ type: 'progress', task: 'copy-total', label: `all tables (${this.rangeCount} ranges)`, done, total, unit: 'bytes', rate: Math.round(rate),
      etaMs: rate > 0 ? Math.round(((total - done) / rate) * 1000) : undefined });
  }
}

export async function startFastCopy(config: Config, database: string, opts: FastCopyOptions = {}): Promise<FastCopyReport> {
  const dbConfig = databaseConfig(config, database);
  (opts.emit ?? silent)({ type: 'step', step: 'fast-copy', state: 'start', message: database });
  const run = new FastCopyRun(config, database, dbConfig, opts, await connect('source', config.source, { database }));
  try {
    if (await run.prepare()) return run.report;
    const plan = await run.publication();
    await run.slot();
    await run.preData();
    await run.copy(plan);
    await run.postData(plan);
    return await run.subscribe();
  } catch (e) {
    run.emit({ type: 'step', step: 'fast-copy', state: 'fail', message: (e as Error).message });
    throw await run.undo(e);
  } finally {
    await run.close();
  }
}

/**
 * One fast copy, phase by phase (the numbers of the file header). What a
 * phase made that a later one or the undo needs (the target connection, the
 * snapshot slot, the archive, the tables being filled) is kept on the run.
 */
class FastCopyRun {
  readonly emit: Emit;
  readonly names: MigrationNames;
  readonly report: FastCopyReport;
  private readonly jobs: number;
  private readonly started = Date.now();
  private target?: Db;
  private tools?: DumpTools;
  private snap?: SnapshotSlot;
  private archive?: SchemaArchive;
  private copyTables: CopyTable[] = [];
  private filling = false;
  private createdDb = false;
  private sourceChanges?: IdentityChanges;
  private targetChanges?: IdentityChanges;

  constructor(readonly config: Config, readonly database: string, private readonly dbConfig: DatabaseConfig, readonly opts: FastCopyOptions, readonly source: Db) {
    this.emit = opts.emit ?? silent;
    this.jobs = Math.max(1, Math.floor(opts.jobs ?? DEFAULT_FAST_COPY_JOBS));
    this.names = namesFor(database);
    this.report = {
      database, alreadyDone: false, restarted: false,
      publication: { name: this.names.publication, tables: 0 },
      slot: { name: this.names.slot, consistentPoint: null },
      subscription: { name: this.names.subscription, options: [] },
      schema: { preData: 'skipped', postData: null },
      tables: [], totals: { rows: 0, bytes: 0, copyMs: 0, totalMs: 0 }, notCarried: [],
    };
  }

  private get targetDb(): Db {
    return this.target!;
  }

  /** Refusals, the target database, and what an earlier run left. True when the copy is already done. */
  async prepare(): Promise<boolean> {
    const { config, database, source, names, emit } = this;
    // Two read-only refusals, each on a target session of its own: asked at once, reported in this order.
    const [pair, restorable] = await Promise.allSettled([
      refuseUnsupportedPair(config, source),
      schemaIsApplied(config, database).then((applied) => (applied ? undefined : refuseUnrestorable(config, source, database))),
    ]);
    if (pair.status === 'rejected') throw pair.reason;
    if (restorable.status === 'rejected') throw restorable.reason;
    this.createdDb = await createTargetDatabase(config, source, database, emit);
    if (this.createdDb) emit({ type: 'info', message: `created database "${database}" on the target` });
    this.target = await connect('target', config.target, { database });
    if (await findSubscription(this.target, names.subscription)) {
      this.report.alreadyDone = true;
      emit({ type: 'step', step: 'fast-copy', state: 'skip', message: `subscription ${names.subscription} exists: the initial copy is done (or native start ran)` });
      return true;
    }
    // Before the slot: a missing or too old pg_dump is refused while nothing is made.
    this.tools = await dumpTools(source.version.major, this.target.version.major);
    const leftover = await findSlot(source, names.slot);
    if (leftover) {
      if (leftover.slotType !== 'logical' || leftover.database !== database || leftover.plugin !== 'pgoutput') {
        throw new SafetyError('slot_conflict', `a replication slot named ${names.slot} exists on the source but is not a pgoutput slot for database "${database}"`, {
          hint: 'Something other than pgshift made it. Drop or rename it, then run start again.',
        });
      }
      emit(warning('fast_copy_restarted', `an earlier start of "${database}" stopped before its subscription was made: its snapshot is gone with its connection, so the copy starts again (the published tables emptied on the target, slot ${names.slot} dropped)`));
      this.report.restarted = true;
    }
    throwIfAborted(this.opts.signal, 'fast copy');
    return false;
  }

  /** 1. Replica identities and the publication, before the slot. */
  async publication(): Promise<PublicationPlan> {
    const { config, database, source, names, emit, report } = this;
    const target = this.targetDb;
    const plan = await planPublication(source, this.dbConfig);
    // Refusals before any change (a restart empties the tables it filled itself); the versions were checked first thing.
    await refuseMissingPrivileges(source, target, plan.tables, !(await findPublication(source, names.publication)));
    if (!report.restarted) await refuseTargetRows(target, plan.tables, await tableNames(target));
    report.notCarried = plan.notCarried;
    if (planChangesIdentities(plan)) {
      for (const side of ['source', 'target'] as const) await refuseUnrecordable(config, side, database);
    }
    if (report.restarted) {
      // The leftover run's rows go first, its slot after (see the top of this file).
      const onTarget = await tableNames(target);
      if (plan.tables.some((t) => onTarget.has(tableKey(t)))) await truncate(target, await planCopyTables(source, target, plan.tables.map((t) => t.oid)));
      faultPoint('after:fast-copy-emptied');
      await dropOurSlot(source, names.slot, this.opts.signal);
      faultPoint('after:fast-copy-slot-dropped');
    }
    this.sourceChanges = new IdentityChanges(config, 'source', source);
    await applyIdentityPlan(this.sourceChanges, plan, emit);
    await syncPublication(source, names.publication, plan, emit);
    report.publication.tables = plan.tables.length;
    faultPoint('after:fast-copy-publication');
    throwIfAborted(this.opts.signal, 'fast copy');
    return plan;
  }

  /** 2. The slot and its snapshot. */
  async slot(): Promise<void> {
    const { names, emit } = this;
    emit({ type: 'phase', phase: 'slot', state: 'start', message: `creating slot ${names.slot} with an exported snapshot (waits for running transactions on the source to end)` });
    const snap = this.snap = await createSnapshotSlot(this.config.source, this.database, names.slot);
    this.report.slot.consistentPoint = snap.consistentPoint;
    emit({ type: 'phase', phase: 'slot', state: 'done', message: `slot ${names.slot} at ${snap.consistentPoint}, snapshot ${snap.snapshot}` });
    faultPoint('after:fast-copy-slot');
  }

  /** 3. Pre-data: tables, types, sequences, no indexes yet; on a target without tables only. */
  async preData(): Promise<void> {
    const { config, database, source, emit, report } = this;
    const target = this.targetDb;
    const archive = this.archive = await SchemaArchive.dump(config, database, this.tools!, await pgshiftPublicationEntries(source), this.snap!.snapshot);
    const targetTables = (await listTables(target)).filter((t: TableInfo) => !t.extension);
    if (targetTables.length === 0) {
      emit({ type: 'phase', phase: 'pre-data', state: 'start', message: 'tables, types, sequences (no indexes yet)' });
      const t0 = Date.now();
      // A database this run created gets the source database's own properties with its schema.
      let propertiesSql = '';
      if (this.createdDb) {
        const plan = await planDatabaseProperties((await readDatabaseProperties(source, database))!, database, target);
        propertiesSql = plan.sql;
        for (const w of plan.skipped) emit(warning('database_property_skipped', `database "${database}" on the target will not get this property of the source's: ${w}`));
      }
      await applyPreData(archive, target.version.major, propertiesSql);
      report.schema.preData = 'applied';
      emit({ type: 'phase', phase: 'pre-data', state: 'done', ms: Date.now() - t0 });
      faultPoint('after:fast-copy-pre-data');
    } else if (report.restarted || (await appliedOn(source, target))) {
      report.schema.preData = 'present';
    } else {
      const shown = targetTables.slice(0, 5).map(tableKey).join(', ');
      throw new SafetyError('target_not_empty', `the target database "${database}" has tables that do not match the source schema (${shown}${targetTables.length > 5 ? ', ...' : ''})`, {
        hint: `Fast copy creates the schema itself on a target database without tables. Drop or rename the target database, or make its schema match the source's ("pgshift schema ${database} --existing" lists the differences).`,
      });
    }
    // A database this run did not create is the user's, or an earlier run's
    // that was killed before its properties came with the pre-data: either
    // way its differences are said, not overwritten (as the schema step does).
    if (!this.createdDb) {
      const differences = compareDatabaseProperties((await readDatabaseProperties(source, database))!, (await readDatabaseProperties(target, database))!);
      if (differences.length > 0) {
        emit(warning('target_database_differs', `the target database "${database}" was not created by this run and differs from the source's (pgshift leaves it as it is): ${differences.join('; ')}`, 'change it yourself if it should match'));
      }
    }
    throwIfAborted(this.opts.signal, 'fast copy');
  }

  /** 4. The copy: every table in ranges, over `jobs` sessions on the snapshot. */
  async copy(plan: PublicationPlan): Promise<void> {
    const { config, database, source, emit, report } = this;
    const target = this.targetDb;
    const snap = this.snap!;
    const copyTables = this.copyTables = await planCopyTables(source, target, plan.tables.map((t) => t.oid));
    // A restart emptied them before dropping the leftover slot.
    const full = await tablesWithRows(target, copyTables, { only: true });
    if (full.length > 0) {
      throw new SafetyError('target_has_rows', `the target already has rows in ${full.slice(0, 5).join(', ')}${full.length > 5 ? ', ...' : ''}; fast copy will not copy over them`, {
        hint: `Empty those tables on the target (TRUNCATE), or drop the target database, then run start again.`,
      });
    }
    this.filling = true;
    const copyStarted = Date.now();
    const sessions: Db[] = [];
    try {
      for (let i = 0; i < this.jobs; i++) sessions.push(await openSnapshotSession(config.source, database, snap.snapshot));
      const ranges: CopyRange[] = [];
      const splitBytes = this.opts.splitBytes ?? DEFAULT_SPLIT_BYTES;
      for (const t of copyTables) ranges.push(...(await splitTable(sessions[0]!, t, partsFor(t.bytes, splitBytes, this.jobs * 4))));
      const binary = copyTables.filter((t) => t.format === 'binary').length;
      emit({ type: 'phase', phase: 'copy', state: 'start',
        message: `${copyTables.length} tables (${formatBytes(copyTables.reduce((s, t) => s + t.bytes, 0))}) in ${ranges.length} ranges, ${sessions.length} workers, ${binary} tables in binary` });
      const progress = new CopyProgress(emit, copyTables.reduce((s, t) => s + t.bytes, 0), ranges.length);
      await copyRanges({
        sources: sessions, target: config.target, database, ranges, signal: this.opts.signal,
        callbacks: { onBytes: (r, n) => progress.bytes(r, n), onRangeDone: (d) => progress.rangeDone(d) },
      });
      for (const t of copyTables) {
        const r = progress.report(t);
        report.tables.push({ table: tableKey(t), rows: r.rows, bytes: r.bytes, ms: r.ms, format: t.format, ranges: ranges.filter((x) => x.table === t).length });
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
    report.totals.copyMs = Date.now() - copyStarted;
    report.totals.rows = report.tables.reduce((s, t) => s + t.rows, 0);
    report.totals.bytes = report.tables.reduce((s, t) => s + t.bytes, 0);
    emit({ type: 'phase', phase: 'copy', state: 'done', ms: report.totals.copyMs, message: `${report.totals.rows} rows, ${formatBytes(report.totals.bytes)}` });
    faultPoint('after:fast-copy-data');
    // The snapshot is no longer needed; the slot stays for the subscription.
    await snap.close();
    throwIfAborted(this.opts.signal, 'fast copy');
  }

  /** 5. Post-data (indexes, constraints, foreign keys, triggers) and the target's replica identities. */
  async postData(plan: PublicationPlan): Promise<void> {
    const { config, database, source, emit } = this;
    const target = this.targetDb;
    emit({ type: 'phase', phase: 'post-data', state: 'start', message: `indexes, constraints, foreign keys, triggers (${this.jobs} in parallel)` });
    this.report.schema.postData = await buildPostData({
      config, database, archive: this.archive!, source, target, jobs: this.jobs, signal: this.opts.signal,
      onStep: (label, ms) => emit({ type: 'info', message: `built ${label} in ${formatDuration(ms)}` }),
    });
    emit({ type: 'phase', phase: 'post-data', state: 'done', ms: this.report.schema.postData.ms });
    faultPoint('after:fast-copy-post-data');
    this.targetChanges = new IdentityChanges(config, 'target', target);
    await mirrorIdentityOnTarget(source, target, plan.tables, emit, this.targetChanges);
    faultPoint('after:fast-copy-identity');
    throwIfAborted(this.opts.signal, 'fast copy');
  }

  /** 6. The subscription, on the slot, from its consistent point. */
  async subscribe(): Promise<FastCopyReport> {
    const { config, database, source, names, emit, report } = this;
    const target = this.targetDb;
    const conn = subscriptionConninfo(config, database);
    warnStoredPassword(conn, emit);
    const options = subscriptionOptions(source.version, target.version, names.slot, false);
    await waitInactive(source, names.slot, this.opts.signal);
    await createSubscription(target, names.subscription, conn, names.publication, options, emit);
    faultPoint('after:fast-copy-subscription');
    report.subscription.options = options;
    this.filling = false;
    report.totals.totalMs = Date.now() - this.started;
    emit({ type: 'result', data: { kind: 'copy', database, tables: report.tables.length, ...report.totals } });
    emit({ type: 'step', step: 'fast-copy', state: 'done', ms: report.totals.totalMs,
      message: `${report.totals.rows} rows, ${formatBytes(report.totals.bytes)} copied; streaming from ${this.snap!.consistentPoint}` });
    return report;
  }

  /** Undo what this run started, so a failure leaves no slot retaining WAL; the error to throw. */
  async undo(e: unknown): Promise<unknown> {
    const { config, database, source, names } = this;
    let failure = e;
    if (this.snap) {
      await this.snap.close();
      const undo: string[] = [];
      try {
        if (this.filling && this.target && !this.createdDb) await truncate(this.target, this.copyTables);
      } catch (u) {
        undo.push(`emptying the copied tables on the target failed: ${(u as Error).message}`);
      }
      try {
        await dropOurSlot(source, names.slot);
      } catch (u) {
        undo.push(`dropping slot ${names.slot} on the source failed: ${(u as Error).message}`);
      }
      if (undo.length > 0 && e instanceof PgshiftError) {
        failure = new ProblemError(e.code, `${e.message}; and undoing it: ${undo.join('; ')}`, { cause: e, hint: `Run start again: it drops a leftover slot and empties the tables before copying. ${e.hint ?? ''}`.trim() });
      }
    }
    // A database this run created holds nothing a next run keeps (the copy
    // starts again without its snapshot): drop it, so a failed start leaves
    // the target as it found it.
    if (this.createdDb) {
      await this.target?.close();
      this.target = undefined;
      await dropCreatedDatabase(config, database).catch((dropErr: unknown) => {
        this.emit(warning('created_database_not_dropped', `could not drop the database "${database}" this run created on the target: ${(dropErr as Error).message}`, 'drop it by hand before running start again'));
      });
    }
    return failure;
  }

  async close(): Promise<void> {
    this.archive?.remove();
    await this.snap?.close();
    await Promise.all([this.sourceChanges?.close(), this.targetChanges?.close()]);
    await this.target?.close();
    await this.source.close();
  }
}
