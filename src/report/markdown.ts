// The report as Markdown: the default of "pgshift report", for a change
// ticket or a wiki. Same content as the HTML one, with tables in place of charts.

import { escapeMd, escapeMdCell as cell } from './escape.js';
import { commandLine, formatBytes, formatCount, formatMs, formatTime, settingNames, verdictWord } from './format.js';
import { headlineMove, lastOf, reverseFact, throughput, viewsFact, warningText, type ReportModel } from './model.js';
import { formatElapsed } from './chart.js';

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

/** At most n rows, evenly spread, always the first and the last. */
function spread<T>(list: T[], n: number): T[] {
  if (list.length <= n) return list;
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(list[Math.round((i * (list.length - 1)) / (n - 1))]!);
  return out;
}

export function renderMarkdown(m: ReportModel): string {
  const L: string[] = [];
  L.push(`# pgshift rehearsal report: ${escapeMd(m.database)}`, '');
  L.push(`Made ${formatTime(m.generatedAt)} from ${m.source ? `the journal \`${m.source.replace(/`/g, "'")}\`` : 'the journal'}: ${m.records} records, ${formatTime(m.first)} to ${formatTime(m.last)}${m.damaged ? `; ${m.damaged} damaged line(s) skipped` : ''}.`, '');
  L.push(...summarySection(m), ...timelineSection(m), ...seriesSection(m), ...switchoverSection(m), ...verifySection(m), ...loadSection(m), ...warningsSection(m), ...clustersSection(m));
  return L.join('\n');
}

/** Versions, the headline write pause, the last verify, the load, warnings. */
function summarySection(m: ReportModel): string[] {
  const L = ['## Summary', ''];
  const move = headlineMove(m);
  const verify = lastOf(m.verifies);
  const load = lastOf(m.loads);
  const lc = lastOf(m.loadChecks);
  const open = m.findings.filter((f) => f.stillReported);
  const rows: string[][] = [
    ['Source', m.versions.source ? `PostgreSQL ${cell(m.versions.source)}` : 'not recorded'],
    ['Target', m.versions.target ? `PostgreSQL ${cell(m.versions.target)}` : 'not recorded'],
    ['Switchover', move ? `${move.direction} ${move.outcome} ${formatTime(move.at)}: write pause **${formatMs(move.pauseMs!)}** (${cell(move.method)})` : 'none recorded'],
    ['Verify', verify ? `${verify.identical ? 'identical' : `**${verify.differing.length} table(s) differ**`}: ${verify.tables} tables, ${formatCount(verify.rows)} rows compared (${verify.mode}), ${formatTime(verify.at)}` : 'none recorded'],
  ];
  if (load) rows.push(['Write load', `${formatCount(load.transactions)} transactions acknowledged, ${load.errors} failed, longest stall ${formatMs(load.longestStallMs)}`]);
  if (lc) rows.push(['Load-check', lc.ok ? `every one of ${formatCount(lc.acknowledged)} acknowledged writes on the target, exactly once` : `**${lc.missing} missing, ${lc.duplicated} duplicated**`]);
  rows.push(['Warnings', `${m.warnings.length} during commands; ${open.length} check finding(s) still reported`]);
  L.push(...table(['', ''], rows), '');
  return L;
}

/** Every command but status, with its steps. */
function timelineSection(m: ReportModel): string[] {
  const L = ['## Timeline', ''];
  if (m.runs.length === 0) L.push('No command recorded.', '');
  else {
    const trows: string[][] = [];
    for (const r of m.runs) {
      trows.push([formatTime(r.at), `**${cell(commandLine(r))}**`, r.ms !== undefined ? formatMs(r.ms) : '', verdictWord(r.verdict), cell(r.error ? `${r.error.message}${r.error.hint ? ` (hint: ${r.error.hint})` : ''}` : r.looks ? `${r.looks} status looks` : '')]);
      for (const i of r.items) trows.push([formatTime(i.at), `&nbsp;&nbsp;${cell(i.what)}`, i.ms !== undefined ? formatMs(i.ms) : '', verdictWord(i.verdict), cell(i.detail ?? '')]);
    }
    L.push(...table(['Started', 'Command / step', 'Took', 'Result', 'Detail'], trows), '');
    if (m.statusRuns) L.push(`Also ${m.statusRuns} \`pgshift status\` run(s), which only look; their looks are in the charts.`, '');
  }
  return L;
}

/** Copy and lag per look (at most 16 rows per series), and fast copies. */
function seriesSection(m: ReportModel): string[] {
  const L = ['## Copy and replication lag', ''];
  if (m.series.length === 0) L.push('No status looks or copy progress recorded.', '');
  for (const s of m.series) {
    const run = m.runs.find((r) => r.run === s.run);
    L.push(`### ${s.kind === 'fast-copy' ? 'Fast copy' : 'Replication'} during ${cell(run ? commandLine(run) : s.command)}, ${formatTime(s.start)}`, '');
    const tp = new Map(throughput(s.points).map((p) => [p.t, p.v]));
    const srows = spread(s.points, 16).map((p) => s.kind === 'fast-copy'
      ? [formatElapsed(p.t), formatBytes(p.copiedBytes ?? 0), tp.has(p.t) ? `${formatBytes(tp.get(p.t)!)}/s` : '']
      : [formatElapsed(p.t), `${p.tablesReady ?? ''}/${p.tablesTotal ?? ''}`, formatBytes(p.copiedBytes ?? 0), tp.has(p.t) ? `${formatBytes(tp.get(p.t)!)}/s` : '',
        p.lagBytes === null || p.lagBytes === undefined ? 'unknown' : formatBytes(p.lagBytes), p.lagSeconds === null || p.lagSeconds === undefined ? '' : `${p.lagSeconds.toFixed(1)} s`]);
    L.push(...(s.kind === 'fast-copy'
      ? table(['Elapsed', 'Copied', 'Throughput'], srows)
      : table(['Elapsed', 'Tables ready', 'Copied', 'Throughput', 'Lag', 'Lag (time)'], srows)));
    L.push('', `${s.points.length} look${s.points.length === 1 ? '' : 's'}${s.points.length > 16 ? ', 16 shown evenly spread' : ''}; throughput is the copied bytes' growth between looks while the initial copy ran.`, '');
  }
  for (const c of m.copies) L.push(`Fast copy ${formatTime(c.at)}: ${c.tables} tables, ${formatCount(c.rows)} rows, ${formatBytes(c.bytes)} in ${formatMs(c.copyMs)} (with indexes and subscription ${formatMs(c.totalMs)}).`, '');
  return L;
}

/** Each switchover and rollback: its phases, what it copied and set. */
function switchoverSection(m: ReportModel): string[] {
  const L = ['## Switchover and rollback', ''];
  if (m.moves.length === 0) L.push('No switchover or rollback recorded.', '');
  for (const mv of m.moves) {
    L.push(`### ${mv.direction} ${formatTime(mv.at)}: ${mv.outcome}${mv.pauseMs !== undefined ? `, write pause **${formatMs(mv.pauseMs)}**` : ''} (${cell(mv.method)})`, '');
    if (mv.error) L.push(`Aborted: ${escapeMd(mv.error)}. Writes were given back; replication kept running.`, '');
    if (mv.phases.length) {
      L.push(...table(['Phase', 'Started', 'Took', 'Writes paused', 'Detail'], mv.phases.map((p) => [cell(p.phase), `+${formatMs(p.startMs)}`, formatMs(p.ms), p.inPause ? 'yes' : '', cell(p.message ?? '')])), '');
    }
    const facts: string[] = [];
    if (mv.sequences !== undefined) facts.push(`${mv.sequences} sequence(s) set`);
    if (mv.copied.length) facts.push(`copied while paused: ${mv.copied.map((c) => `${escapeMd(c.table)} (${formatCount(c.rows)} rows)`).join(', ')}`);
    if (mv.largeObjects) facts.push(`${mv.largeObjects} large object(s) copied`);
    if (mv.views) facts.push(viewsFact(mv.views));
    if (mv.direction === 'switchover' && mv.outcome !== 'aborted') facts.push(escapeMd(reverseFact(mv)));
    if (facts.length) L.push(facts.join('; ') + '.', '');
    for (const w of mv.warnings) L.push(`- warning: ${escapeMd(warningText(w))}`);
    if (mv.warnings.length) L.push('');
  }
  return L;
}

/** Each verify and what differed. */
function verifySection(m: ReportModel): string[] {
  const L = ['## Verify', ''];
  if (m.verifies.length === 0) L.push('No verify recorded.', '');
  for (const v of m.verifies) {
    L.push(`- ${formatTime(v.at)}, ${v.mode}${v.live ? ', live source' : ''}: ${v.identical ? 'identical' : '**different**'}; ${v.tables} tables, ${formatCount(v.rows)} rows compared in ${formatMs(v.ms)}`);
    for (const d of v.differing) L.push(`  - ${escapeMd(d.table)}: ${d.problem ? escapeMd(d.problem) : `${d.differences} row(s) differ`}`);
    for (const u of v.unsettled) L.push(`  - ${escapeMd(u)}: kept changing on the source, not settled`);
    for (const t of v.deferred ?? []) L.push(`  - ${escapeMd(t)}: replication does not carry it; copied at switchover, compared after it`);
  }
  L.push('');
  return L;
}

/** The write load and its ledger check, when there was one. */
function loadSection(m: ReportModel): string[] {
  if (m.loads.length === 0 && m.loadChecks.length === 0) return [];
  const L = ['## Write load', ''];
  for (const l of m.loads) L.push(`- ${formatTime(l.at)}: ${l.clients} client${l.clients === 1 ? '' : 's'} for ${formatMs(l.durationMs)}: ${formatCount(l.transactions)} transactions (${l.tps} tps), ${l.errors} failed; latency p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms, max ${l.latencyMs.max} ms; longest stall ${formatMs(l.longestStallMs)}`);
  for (const c of m.loadChecks) L.push(`- load-check ${formatTime(c.at)}: ${c.ok ? `all ${formatCount(c.acknowledged)} acknowledged writes on the target, exactly once` : `${c.missing} missing, ${c.duplicated} duplicated of ${formatCount(c.acknowledged)}`}`);
  L.push('');
  return L;
}

/** Warnings with what became of them, and check findings still reported or resolved. */
function warningsSection(m: ReportModel): string[] {
  const L = ['## Warnings and what was done about them', ''];
  if (m.warnings.length === 0 && m.findings.length === 0) L.push('None.', '');
  if (m.warnings.length) L.push(...table(['When', 'Command', 'Warning', 'What happened'], m.warnings.map((w) => [formatTime(w.at), cell(w.command), cell(w.message), cell(w.outcome)])), '');
  if (m.findings.length) {
    L.push('Check findings (warn and fail):', '');
    L.push(...table(['Severity', 'Side', 'Finding', 'Objects', 'Fix', 'Status'], m.findings.map((f) => [
      f.severity, f.side, cell(f.title), cell(f.objects.slice(0, 5).join(', ') + (f.objectCount > 5 ? ` +${f.objectCount - 5} more` : '')), cell(f.fix ?? ''),
      f.stillReported ? 'still reported by the last check' : `not reported by the check of ${formatTime(f.resolvedAt)}`,
    ])), '');
  }
  return L;
}

/** Both clusters as the last check saw them. */
function clustersSection(m: ReportModel): string[] {
  const L = ['## Clusters', ''];
  if (!m.clusters) L.push(`No check recorded${m.versions.source ? `; status saw PostgreSQL ${escapeMd(m.versions.source)} -> ${escapeMd(m.versions.target ?? '?')}` : ''}.`, '');
  else {
    const c = m.clusters;
    L.push(`As check saw them ${formatTime(c.at)}:`, '');
    L.push(...table(['', 'Source', 'Target'], [
      ['PostgreSQL', cell(c.source.version), cell(c.target.version)],
      ['system identifier', c.source.systemIdentifier, c.target.systemIdentifier],
      ['role', cell(c.source.role), cell(c.target.role)],
      ...settingNames(m).map((s) => [cell(s), cell(c.source.settings[s] ?? ''), cell(c.target.settings[s] ?? '')]),
    ]), '');
  }
  return L;
}
