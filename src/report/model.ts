// The rehearsal report's content, computed from journal records only: every
// number in the report is one the journal holds (or a difference of two of
// its numbers, as copy throughput is). Rendering is markdown.ts and html.ts.

import type { ClusterOutcome, Outcome, PhaseOutcome, StatusSample } from '../events.js';
import type { JournalRecord } from '../journal/journal.js';
import { formatBytes } from '../util/duration.js';
import { problemText, type Problem } from '../problems.js';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip' | 'running';

export interface TimelineItem {
  /** ISO time the item started. */
  at: string;
  what: string;
  ms?: number;
  verdict: Verdict;
  detail?: string;
}

export interface CommandRun {
  run: string;
  command: string;
  args: string[];
  flags: Record<string, string | boolean>;
  pgshift?: string;
  at: string;
  ms?: number;
  /** undefined: no end record (still running, or killed). */
  exitCode?: number;
  error?: { code: string; message: string; hint?: string };
  verdict: Verdict;
  items: TimelineItem[];
  /** Status looks this run took (kept in the journal). */
  looks: number;
}

export interface SeriesPoint {
  /** Milliseconds since the series began. */
  t: number;
  at: string;
  copiedBytes?: number;
  lagBytes?: number | null;
  lagSeconds?: number | null;
  tablesReady?: number;
  tablesTotal?: number;
}

export interface Series {
  run: string;
  command: string;
  start: string;
  /** status: looks at the subscription (copy and lag); fast-copy: bytes piped by pgshift's copy. */
  kind: 'status' | 'fast-copy';
  points: SeriesPoint[];
}

export interface WarningItem {
  at: string;
  command: string;
  message: string;
  /** What the journal shows happened about it. */
  outcome: string;
}

export interface FindingItem {
  id: string;
  severity: 'warn' | 'fail';
  side: string;
  title: string;
  fix?: string;
  objects: string[];
  objectCount: number;
  firstSeen: string;
  /** The last check's time when it still reported this, else undefined. */
  stillReported: boolean;
  /** When the first check that no longer reported it ran. */
  resolvedAt?: string;
}

export type At<T> = T & { at: string; run: string };

export interface ReportModel {
  database: string;
  generatedAt: string;
  source?: string;
  records: number;
  damaged: number;
  first?: string;
  last?: string;
  versions: { source?: string; target?: string };
  clusters?: At<{ source: ClusterOutcome; target: ClusterOutcome }>;
  runs: CommandRun[];
  /** Status commands are not in the timeline: they only look. */
  statusRuns: number;
  series: Series[];
  copies: At<Outcome & { kind: 'copy' }>[];
  moves: At<Outcome & { kind: 'move' }>[];
  verifies: At<Outcome & { kind: 'verify' }>[];
  loads: At<Outcome & { kind: 'load' }>[];
  loadChecks: At<Outcome & { kind: 'load-check' }>[];
  cleanups: At<Outcome & { kind: 'cleanup' }>[];
  findings: FindingItem[];
  warnings: WarningItem[];
}

/** A move's warning as the report shows it (journals written before warnings had codes hold plain strings). */
export function warningText(w: Problem | string): string {
  return typeof w === 'string' ? w : problemText(w);
}

/** The switchover a report leads with: the last one that finished with a measured pause. */
export function headlineMove(m: ReportModel): ReportModel['moves'][number] | undefined {
  return [...m.moves].reverse().find((x) => x.direction === 'switchover' && x.pauseMs !== undefined && x.outcome !== 'aborted')
    ?? [...m.moves].reverse().find((x) => x.pauseMs !== undefined);
}

/** What became of reverse replication after a switchover, in words. */
export function reverseFact(mv: { reverse: boolean; reverseVerified?: boolean; reverseProblem?: string }): string {
  if (!mv.reverse) return 'no reverse replication';
  if (mv.reverseVerified === false) return `reverse replication started but NOT working: ${mv.reverseProblem ?? 'unknown'} (a rollback cannot carry the target's writes until fixed)`;
  return mv.reverseVerified ? 'reverse replication started and verified (rollback possible)' : 'reverse replication started (rollback possible)';
}

export function viewsFact(v: { populated: number; refreshed: number; failed: number }): string {
  return `${v.populated} materialized view(s) populated before the pause, ${v.refreshed} refreshed after the resume${v.failed ? `, ${v.failed} failed` : ''}`;
}

export function lastOf<T>(list: T[]): T | undefined {
  return list[list.length - 1];
}

function describeOutcome(o: Outcome): { what: string; verdict: Verdict; detail: string; ms?: number } {
  switch (o.kind) {
    case 'check': {
      const fails = o.findings.filter((f) => f.severity === 'fail').length;
      const warns = o.findings.filter((f) => f.severity === 'warn').length;
      return { what: 'check', verdict: fails ? 'fail' : warns ? 'warn' : 'ok', detail: `${fails} fail, ${warns} warn; PostgreSQL ${o.source.version} -> ${o.target.version}` };
    }
    case 'verify':
      return {
        what: `verify (${o.mode})`, verdict: o.identical ? (o.unsettled.length || o.deferred?.length ? 'warn' : 'ok') : 'fail', ms: o.ms,
        detail: `${o.identical ? 'identical' : `${o.differing.length} table(s) differ`}: ${o.tables} tables, ${count(o.rows)} rows compared${o.live ? ', live source' : ''}`,
      };
    case 'move':
      return {
        what: o.direction, verdict: o.outcome === 'aborted' ? 'fail' : 'ok', ms: o.totalMs,
        detail: `${o.outcome}${o.pauseMs !== undefined ? `, write pause ${formatMs(o.pauseMs)} (${o.method})` : ''}${o.error ? `: ${o.error}` : ''}`,
      };
    case 'copy':
      return { what: 'fast copy', verdict: 'ok', ms: o.totalMs, detail: `${o.tables} tables, ${count(o.rows)} rows, ${formatBytes(o.bytes)}` };
    case 'load':
      return { what: 'write load', verdict: o.errors ? 'warn' : 'ok', ms: o.durationMs, detail: `${count(o.transactions)} transactions acknowledged, ${o.errors} failed, longest stall ${formatMs(o.longestStallMs)}` };
    case 'load-check':
      return { what: 'load-check', verdict: o.ok ? 'ok' : 'fail', detail: o.ok ? `all ${count(o.acknowledged)} acknowledged writes on the target, exactly once` : `${o.missing} missing, ${o.duplicated} duplicated of ${count(o.acknowledged)}` };
    case 'cleanup':
      return { what: 'cleanup', verdict: o.left.length ? 'warn' : 'ok', detail: `${o.dropped.length} object(s) dropped${o.left.length ? `, ${o.left.length} left` : ''}` };
  }
}

/** Milliseconds as the report writes them: to a tenth of a millisecond under a second. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${(Math.round(ms * 10) / 10).toFixed(1)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const minus = (iso: string, ms: number | undefined): string => (ms === undefined ? iso : new Date(Date.parse(iso) - ms).toISOString());

const byTime = <T extends { at: string }>(a: T, b: T): number => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0);

export function buildReport(database: string, records: JournalRecord[], opts: { damaged?: number; source?: string; now?: Date } = {}): ReportModel {
  const sorted = records.filter((r) => r.database === database).sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  const replay = new JournalReplay();
  for (const r of sorted) replay.add(r);
  const allRuns = [...replay.runs.values()].sort(byTime);
  const runs = allRuns.filter((r) => r.command !== 'status');
  for (const r of runs) r.items.sort(byTime);
  return {
    database,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    ...(opts.source ? { source: opts.source } : {}),
    records: sorted.length,
    damaged: opts.damaged ?? 0,
    first: sorted[0]?.time,
    last: sorted[sorted.length - 1]?.time,
    versions: replay.versions,
    runs,
    statusRuns: allRuns.filter((r) => r.command === 'status').length,
    series: [...replay.series.values()].filter((s) => s.points.length > 0),
    ...replay.results,
    findings: findingsAcrossChecks(replay.checks, database),
    warnings: replay.warnings.map((w) => ({ at: w.at, command: w.command, message: w.message, outcome: warningOutcome(replay.runs.get(w.run), allRuns) })),
    ...(replay.clusters ? { clusters: replay.clusters } : {}),
  };
}

type Results = Pick<ReportModel, 'copies' | 'moves' | 'verifies' | 'loads' | 'loadChecks' | 'cleanups'>;

/** The journal's records of one database, in time order, gathered into runs, series and results. */
class JournalReplay {
  readonly runs = new Map<string, CommandRun>();
  readonly series = new Map<string, Series>();
  readonly checks: At<Outcome & { kind: 'check' }>[] = [];
  readonly warnings: { at: string; command: string; message: string; run: string }[] = [];
  readonly results: Results = { copies: [], moves: [], verifies: [], loads: [], loadChecks: [], cleanups: [] };
  versions: ReportModel['versions'] = {};
  clusters: ReportModel['clusters'];
  private readonly stepStart = new Map<string, string>();

  add(r: JournalRecord): void {
    const e = r.event;
    const c = this.runOf(r);
    switch (e.type) {
      case 'command':
        if (e.state === 'start') {
          Object.assign(c, { at: r.time, args: e.args, flags: e.flags, pgshift: e.pgshift });
        } else {
          c.ms = e.ms;
          c.exitCode = e.exitCode;
          if (e.error) c.error = e.error;
          c.verdict = e.exitCode === 0 ? 'ok' : 'fail';
        }
        break;
      case 'step':
        this.step(c, r, e);
        break;
      case 'status':
        c.looks++;
        this.status(r, e.data);
        break;
      case 'progress':
        if (e.task === 'copy-total' && e.unit === 'bytes') {
          const s = this.seriesOf(r, 'fast-copy');
          s.points.push({ t: Date.parse(r.time) - Date.parse(s.start), at: r.time, copiedBytes: e.done });
        }
        break;
      case 'warn':
        this.warnings.push({ at: r.time, command: r.command, message: problemText(e), run: r.run });
        break;
      case 'result':
        this.result(c, r, e.data);
        break;
      default:
        break;
    }
  }

  private runOf(r: JournalRecord): CommandRun {
    let c = this.runs.get(r.run);
    if (!c) {
      c = { run: r.run, command: r.command, args: [], flags: {}, at: r.time, verdict: 'running', items: [], looks: 0 };
      this.runs.set(r.run, c);
    }
    return c;
  }

  private seriesOf(r: JournalRecord, kind: Series['kind']): Series {
    const key = `${r.run}\u0000${kind}`;
    let s = this.series.get(key);
    if (!s) {
      s = { run: r.run, command: r.command, start: r.time, kind, points: [] };
      this.series.set(key, s);
    }
    return s;
  }

  private step(c: CommandRun, r: JournalRecord, e: Extract<JournalRecord['event'], { type: 'step' }>): void {
    // check's per-database sub-steps: its result says more.
    if (e.step.startsWith('check ')) return;
    const key = `${r.run}\u0000${e.step}`;
    if (e.state === 'start') {
      this.stepStart.set(key, r.time);
      return;
    }
    const started = this.stepStart.get(key) ?? minus(r.time, e.ms);
    c.items.push({ at: started, what: e.step, ...(e.ms !== undefined ? { ms: e.ms } : {}), verdict: e.state === 'done' ? 'ok' : e.state === 'skip' ? 'skip' : 'fail', ...(e.message ? { detail: e.message } : {}) });
  }

  private status(r: JournalRecord, d: StatusSample): void {
    const s = this.seriesOf(r, 'status');
    s.points.push({
      t: Date.parse(d.time) - Date.parse(s.start), at: d.time, copiedBytes: d.copiedBytes, lagBytes: d.lagBytes, lagSeconds: d.lagSeconds,
      tablesReady: d.tablesReady, tablesTotal: d.tablesTotal,
    });
    if (d.sourceVersion) this.versions.source = d.sourceVersion;
    if (d.targetVersion) this.versions.target = d.targetVersion;
  }

  private result(c: CommandRun, r: JournalRecord, o: Outcome): void {
    const d = describeOutcome(o);
    const prev = c.items[c.items.length - 1];
    if (prev && prev.what === d.what && !prev.detail) {
      // The step that produced it (check's own step event): one line, with the result's words.
      Object.assign(prev, { verdict: prev.verdict === 'fail' ? 'fail' : d.verdict, detail: d.detail });
    } else {
      c.items.push({ at: minus(r.time, d.ms), what: d.what, ...(d.ms !== undefined ? { ms: d.ms } : {}), verdict: d.verdict, detail: d.detail });
    }
    const tagged = { ...o, at: minus(r.time, d.ms), run: r.run };
    if (o.kind === 'check') {
      this.checks.push(tagged as At<Outcome & { kind: 'check' }>);
      this.clusters = { source: o.source, target: o.target, at: r.time, run: r.run };
      this.versions = { source: o.source.version, target: o.target.version };
    } else if (o.kind === 'verify') this.results.verifies.push(tagged as At<Outcome & { kind: 'verify' }>);
    else if (o.kind === 'move') this.results.moves.push(tagged as At<Outcome & { kind: 'move' }>);
    else if (o.kind === 'copy') this.results.copies.push(tagged as At<Outcome & { kind: 'copy' }>);
    else if (o.kind === 'load') this.results.loads.push(tagged as At<Outcome & { kind: 'load' }>);
    else if (o.kind === 'load-check') this.results.loadChecks.push(tagged as At<Outcome & { kind: 'load-check' }>);
    else if (o.kind === 'cleanup') this.results.cleanups.push(tagged as At<Outcome & { kind: 'cleanup' }>);
  }
}

/**
 * What became of a warning, from the run that raised it: its end, and
 * whether a later run of the same command succeeded.
 */
export function warningOutcome(run: CommandRun | undefined, allRuns: CommandRun[]): string {
  if (!run || run.exitCode === undefined) return 'the command did not record its end (still running, or killed)';
  if (run.exitCode === 0) return `${run.command} went on and finished (exit 0)`;
  const later = allRuns.find((x) => x.command === run.command && x.at > run.at && x.exitCode === 0);
  return `${run.command} failed (exit ${run.exitCode}${run.error ? `, ${run.error.code}` : ''})${later ? `; it succeeded when run again at ${later.at}` : ''}`;
}

/**
 * Check findings across checks, in time order: still reported by the last
 * check, or resolved by the first later one that no longer reports them.
 * Findings about another database are left out.
 */
export function findingsAcrossChecks(checks: At<Outcome & { kind: 'check' }>[], database: string): FindingItem[] {
  const byId = new Map<string, FindingItem>();
  for (const chk of checks) {
    const seen = new Set<string>();
    for (const f of chk.findings) {
      if (f.severity === 'ok') continue;
      if (f.database !== undefined && f.database !== database) continue;
      const key = `${f.id}\u0000${f.title}`;
      seen.add(key);
      const prev = byId.get(key);
      byId.set(key, {
        id: f.id, severity: f.severity, side: f.side, title: f.title, ...(f.fix ? { fix: f.fix } : {}), objects: f.objects, objectCount: f.objectCount,
        firstSeen: prev?.firstSeen ?? chk.at, stillReported: true,
      });
    }
    for (const [key, f] of byId) {
      if (!seen.has(key) && f.stillReported) {
        f.stillReported = false;
        f.resolvedAt = chk.at;
      }
    }
  }
  return [...byId.values()];
}

/**
 * Copy throughput (bytes/s) between successive points while the initial copy
 * ran (some table not ready at the first of the two; a fast copy's points
 * are all copy). Once every table is ready the target's sizes grow with
 * applied changes, which is not copying. A count that went down (a table
 * whose COPY finished is measured by its size instead) counts as 0.
 */
export function throughput(points: SeriesPoint[]): { t: number; v: number }[] {
  const out: { t: number; v: number }[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1]!;
    const b = points[i]!;
    if (a.copiedBytes === undefined || b.copiedBytes === undefined || b.t <= a.t) continue;
    if (a.tablesTotal !== undefined && (a.tablesReady ?? 0) >= a.tablesTotal) continue;
    out.push({ t: b.t, v: Math.max(0, b.copiedBytes - a.copiedBytes) / ((b.t - a.t) / 1000) });
  }
  return out;
}

export type { PhaseOutcome };
