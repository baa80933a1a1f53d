// The report as one self-contained HTML file: inline CSS and SVG, no script,
// no remote asset (it opens from a mail attachment or an air-gapped host).
// Numbers a test reads back carry data-metric and data-value attributes.

import { escapeHtml as h } from './escape.js';
import { commandLine, formatBytes, formatCount, formatMs, formatTime, settingNames, verdictWord } from './format.js';
import { headlineMove, lastOf, reverseFact, throughput, viewsFact, warningText, type ReportModel, type Verdict } from './model.js';
import { lineChart } from './chart.js';
import type { PhaseOutcome } from '../events.js';

const CSS = `
:root { --fg:#1d2330; --muted:#5b6476; --line:#d9dee7; --ok:#1a7f37; --warn:#9a6700; --fail:#cf222e; --accent:#2f6feb; --pause:#f2c14e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); margin: 0; background: #f6f8fa; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 28px 48px; background: #fff; min-height: 100vh; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 20px; font-weight: 600; margin-top: 2px; }
.card .sub { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.when { white-space: nowrap; color: var(--muted); font-variant-numeric: tabular-nums; }
tr.cmd td { background: #f3f6fb; font-weight: 600; }
tr.step td:nth-child(2) { padding-left: 24px; }
.v-ok { color: var(--ok); } .v-warn { color: var(--warn); } .v-fail { color: var(--fail); font-weight: 600; } .v-skip, .v-running { color: var(--muted); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 4px; }
svg.chart, svg.phases { display: block; max-width: 100%; height: auto; margin: 4px 0 12px; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: var(--fg); }
svg .tick, svg .legend, svg .axis-label { font-size: 11px; fill: var(--muted); }
svg .grid { stroke: #eef1f5; } svg .axis, svg .tickmark { stroke: #8b94a5; }
svg .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg .area { opacity: .12; }
svg .bar { fill: var(--accent); } svg .bar.paused { fill: #e0891b; }
svg .pause { fill: var(--pause); opacity: .35; }
.note { color: var(--muted); font-size: 12px; }
`;

const verdict = (v: Verdict): string => `<span class="v-${v}">${h(verdictWord(v))}</span>`;
const metric = (name: string, value: number, text: string): string => `<span data-metric="${name}" data-value="${value}">${h(text)}</span>`;

function card(label: string, valueHtml: string, sub = ''): string {
  return `<div class="card"><div class="label">${h(label)}</div><div class="value">${valueHtml}</div>${sub ? `<div class="sub">${sub}</div>` : ''}</div>`;
}

/** The switchover's phases on one time line, the write pause shaded. */
function phaseChart(id: string, phases: PhaseOutcome[], pauseMs: number | undefined): string {
  if (phases.length === 0) return '';
  const W = 760;
  const rowH = 18;
  const left = 130;
  const pw = W - left - 70;
  const end = Math.max(1, ...phases.map((p) => p.startMs + p.ms));
  const H = 30 + phases.length * rowH;
  const sx = (ms: number): number => left + (ms / end) * pw;
  const paused = phases.filter((p) => p.inPause);
  const parts = [`<svg class="phases" id="${h(id)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="switchover phases" xmlns="http://www.w3.org/2000/svg">`];
  if (paused.length) {
    const a = Math.min(...paused.map((p) => p.startMs));
    const b = Math.max(...paused.map((p) => p.startMs + p.ms));
    parts.push(`<rect class="pause" x="${sx(a).toFixed(1)}" y="4" width="${Math.max(1, sx(b) - sx(a)).toFixed(1)}" height="${H - 8}"/>`);
    parts.push(`<text class="tick" x="${sx(b).toFixed(1)}" y="${H - 2}" text-anchor="end">writes paused${pauseMs !== undefined ? ` ${h(formatMs(pauseMs))}` : ''}</text>`);
  }
  phases.forEach((p, i) => {
    const y = 8 + i * rowH;
    parts.push(`<text class="tick" x="${left - 8}" y="${y + 11}" text-anchor="end">${h(p.phase)}</text>`);
    parts.push(`<rect class="bar${p.inPause ? ' paused' : ''}" x="${sx(p.startMs).toFixed(1)}" y="${y}" width="${Math.max(1.5, sx(p.startMs + p.ms) - sx(p.startMs)).toFixed(1)}" height="${rowH - 6}"/>`);
    parts.push(`<text class="tick" x="${(sx(p.startMs + p.ms) + 4).toFixed(1)}" y="${y + 11}">${h(formatMs(p.ms))}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

export function renderHtml(m: ReportModel): string {
  const B: string[] = [];
  B.push(`<h1>pgshift rehearsal report: <code>${h(m.database)}</code></h1>`);
  B.push(`<p class="meta">Made ${h(formatTime(m.generatedAt))} from ${m.source ? `the journal <code>${h(m.source)}</code>` : 'the journal'}: ${m.records} records, ${h(formatTime(m.first))} to ${h(formatTime(m.last))}${m.damaged ? `; ${m.damaged} damaged line(s) skipped` : ''}.</p>`);
  B.push(...summarySection(m), ...timelineSection(m), ...chartsSection(m), ...switchoverSection(m), ...verifySection(m), ...loadSection(m), ...warningsSection(m), ...clustersSection(m));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>pgshift rehearsal report: ${h(m.database)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${B.join('\n')}
</main>
</body>
</html>
`;
}

/** The cards at the top: versions, the write pause, verify, the load, warnings. */
function summarySection(m: ReportModel): string[] {
  const move = headlineMove(m);
  const verify = lastOf(m.verifies);
  const load = lastOf(m.loads);
  const lc = lastOf(m.loadChecks);
  const cards: string[] = [];
  cards.push(card('PostgreSQL', `${h(m.versions.source ?? '?')} &rarr; ${h(m.versions.target ?? '?')}`, 'source &rarr; target'));
  cards.push(card('Write pause', move ? metric('pause-ms', move.pauseMs!, formatMs(move.pauseMs!)) : 'none recorded', move ? `${h(move.direction)} ${h(move.outcome)}, ${h(move.method)}, ${h(formatTime(move.at))}` : ''));
  cards.push(card('Verify', verify ? `<span class="${verify.identical ? 'v-ok' : 'v-fail'}">${verify.identical ? 'identical' : 'DIFFERENT'}</span>` : 'none recorded',
    verify ? `${metric('verify-rows', verify.rows, formatCount(verify.rows))} rows, ${verify.tables} tables (${h(verify.mode)})` : ''));
  if (load) cards.push(card('Client transactions', metric('load-transactions', load.transactions, formatCount(load.transactions)), `${metric('load-errors', load.errors, String(load.errors))} failed, longest stall ${h(formatMs(load.longestStallMs))}`));
  if (lc) cards.push(card('Acknowledged writes on target', lc.ok ? `<span class="v-ok">all ${h(formatCount(lc.acknowledged))}</span>` : `<span class="v-fail">${lc.missing} missing</span>`, lc.ok ? 'exactly once' : `${lc.duplicated} duplicated`));
  cards.push(card('Warnings', String(m.warnings.length), `${m.findings.filter((f) => f.stillReported).length} check finding(s) still reported`));
  return [`<section id="summary"><div class="cards">${cards.join('')}</div></section>`];
}

/** Every command but status, with its steps. */
function timelineSection(m: ReportModel): string[] {
  const B = ['<section id="timeline"><h2>Timeline</h2>'];
  if (m.runs.length === 0) B.push('<p>No command recorded.</p>');
  else {
    B.push('<table><thead><tr><th>Started</th><th>Command / step</th><th class="num">Took</th><th>Result</th><th>Detail</th></tr></thead><tbody>');
    for (const r of m.runs) {
      const detail = r.error ? `${h(r.error.message)}${r.error.hint ? `<br><span class="note">hint: ${h(r.error.hint)}</span>` : ''}` : r.looks ? `${r.looks} status looks` : '';
      B.push(`<tr class="cmd"><td class="when">${h(formatTime(r.at))}</td><td><code>${h(commandLine(r))}</code></td><td class="num">${r.ms !== undefined ? h(formatMs(r.ms)) : ''}</td><td>${verdict(r.verdict)}</td><td>${detail}</td></tr>`);
      for (const i of r.items) {
        B.push(`<tr class="step"><td class="when">${h(formatTime(i.at))}</td><td>${h(i.what)}</td><td class="num">${i.ms !== undefined ? h(formatMs(i.ms)) : ''}</td><td>${verdict(i.verdict)}</td><td>${h(i.detail ?? '')}</td></tr>`);
      }
    }
    B.push('</tbody></table>');
    if (m.statusRuns) B.push(`<p class="note">Also ${m.statusRuns} <code>pgshift status</code> run(s), which only look; their looks are in the charts.</p>`);
  }
  B.push('</section>');
  return B;
}

/** Copy throughput and replication lag over each command's looks; fast copies. */
function chartsSection(m: ReportModel): string[] {
  const B = ['<section id="charts"><h2>Copy and replication lag</h2>'];
  if (m.series.length === 0) B.push('<p>No status looks or copy progress recorded.</p>');
  m.series.forEach((s, i) => {
    const run = m.runs.find((r) => r.run === s.run);
    B.push(`<h3>${s.kind === 'fast-copy' ? 'Fast copy' : 'Replication'} during <code>${h(run ? commandLine(run) : s.command)}</code>, ${h(formatTime(s.start))}</h3>`);
    const tp = throughput(s.points).map((p) => ({ x: p.t, y: p.v }));
    if (tp.length) B.push(lineChart({ id: `chart-copy-${i}`, title: 'Initial copy throughput (bytes/s between looks)', series: [{ name: 'copy', points: tp, color: '#2f6feb' }], formatY: (v) => `${formatBytes(v)}/s` }));
    else B.push('<p class="note">No initial copy ran between these looks.</p>');
    if (s.kind === 'status') {
      const lag = s.points.filter((p) => p.lagBytes !== null && p.lagBytes !== undefined).map((p) => ({ x: p.t, y: p.lagBytes! }));
      B.push(lineChart({ id: `chart-lag-${i}`, title: 'Replication lag (source WAL not yet applied on the target)', series: [{ name: 'lag', points: lag, color: '#cf222e' }], formatY: (v) => formatBytes(v) }));
      const last = s.points[s.points.length - 1]!;
      B.push(`<p class="note">${s.points.length} looks; at the last one ${metric('tables-ready', last.tablesReady ?? 0, String(last.tablesReady ?? 0))}/${metric('tables-total', last.tablesTotal ?? 0, String(last.tablesTotal ?? 0))} tables ready, ${h(formatBytes(last.copiedBytes ?? 0))} copied, lag ${h(last.lagBytes === null || last.lagBytes === undefined ? 'unknown' : formatBytes(last.lagBytes))}.</p>`);
    }
  });
  for (const c of m.copies) B.push(`<p>Fast copy ${h(formatTime(c.at))}: ${c.tables} tables, ${metric('copy-rows', c.rows, formatCount(c.rows))} rows, ${h(formatBytes(c.bytes))} in ${h(formatMs(c.copyMs))} (with indexes and subscription ${h(formatMs(c.totalMs))}).</p>`);
  B.push('</section>');
  return B;
}

/** Each switchover and rollback: its phases on a time line, what it copied and set. */
function switchoverSection(m: ReportModel): string[] {
  const B = ['<section id="switchover"><h2>Switchover and rollback</h2>'];
  if (m.moves.length === 0) B.push('<p>No switchover or rollback recorded.</p>');
  m.moves.forEach((mv, i) => {
    B.push(`<h3>${h(mv.direction)} ${h(formatTime(mv.at))}: ${h(mv.outcome)}${mv.pauseMs !== undefined ? `, write pause ${metric(`pause-ms-${i}`, mv.pauseMs, formatMs(mv.pauseMs))}` : ''} (${h(mv.method)})</h3>`);
    if (mv.error) B.push(`<p class="v-fail">Aborted: ${h(mv.error)}. Writes were given back; replication kept running.</p>`);
    B.push(phaseChart(`phases-${i}`, mv.phases, mv.pauseMs));
    if (mv.phases.length) {
      B.push('<table><thead><tr><th>Phase</th><th class="num">Started</th><th class="num">Took</th><th>Writes paused</th><th>Detail</th></tr></thead><tbody>');
      for (const p of mv.phases) B.push(`<tr><td>${h(p.phase)}</td><td class="num">+${h(formatMs(p.startMs))}</td><td class="num">${h(formatMs(p.ms))}</td><td>${p.inPause ? 'yes' : ''}</td><td>${h(p.message ?? '')}</td></tr>`);
      B.push('</tbody></table>');
    }
    const facts: string[] = [];
    if (mv.sequences !== undefined) facts.push(`${mv.sequences} sequence(s) set`);
    if (mv.copied.length) facts.push(`copied while paused: ${mv.copied.map((c) => `${h(c.table)} (${h(formatCount(c.rows))} rows)`).join(', ')}`);
    if (mv.largeObjects) facts.push(`${mv.largeObjects} large object(s) copied`);
    if (mv.views) facts.push(viewsFact(mv.views));
    if (mv.direction === 'switchover' && mv.outcome !== 'aborted') facts.push(h(reverseFact(mv)));
    if (facts.length) B.push(`<p>${facts.join('; ')}.</p>`);
    for (const w of mv.warnings) B.push(`<p class="v-warn">warning: ${h(warningText(w))}</p>`);
  });
  B.push('</section>');
  return B;
}

/** Each verify and what differed. */
function verifySection(m: ReportModel): string[] {
  const B = ['<section id="verify"><h2>Verify</h2>'];
  if (m.verifies.length === 0) B.push('<p>No verify recorded.</p>');
  else {
    B.push('<table><thead><tr><th>When</th><th>Mode</th><th>Result</th><th class="num">Tables</th><th class="num">Rows compared</th><th class="num">Took</th><th>Differences</th></tr></thead><tbody>');
    for (const v of m.verifies) {
      const diffs = [...v.differing.map((d) => `${h(d.table)}: ${h(d.problem ?? `${d.differences} row(s) differ`)}`), ...v.unsettled.map((u) => `${h(u)}: not settled`), ...(v.deferred ?? []).map((t) => `${h(t)}: copied at switchover, compared after it`)].join('<br>');
      B.push(`<tr><td class="when">${h(formatTime(v.at))}</td><td>${h(v.mode)}${v.live ? ', live' : ''}</td><td>${v.identical ? '<span class="v-ok">identical</span>' : '<span class="v-fail">different</span>'}</td><td class="num">${v.tables}</td><td class="num">${h(formatCount(v.rows))}</td><td class="num">${h(formatMs(v.ms))}</td><td>${diffs}</td></tr>`);
    }
    B.push('</tbody></table>');
  }
  B.push('</section>');
  return B;
}

/** The write load and its ledger check, when there was one. */
function loadSection(m: ReportModel): string[] {
  if (m.loads.length === 0 && m.loadChecks.length === 0) return [];
  const B = ['<section id="load"><h2>Write load</h2><ul>'];
  for (const l of m.loads) B.push(`<li>${h(formatTime(l.at))}: ${l.clients} client${l.clients === 1 ? '' : 's'} for ${h(formatMs(l.durationMs))}: ${h(formatCount(l.transactions))} transactions (${l.tps} tps), ${l.errors} failed; latency p50 ${l.latencyMs.p50} ms, p99 ${l.latencyMs.p99} ms, max ${l.latencyMs.max} ms; longest stall ${h(formatMs(l.longestStallMs))}</li>`);
  for (const c of m.loadChecks) B.push(`<li>load-check ${h(formatTime(c.at))}: ${c.ok ? `all ${h(formatCount(c.acknowledged))} acknowledged writes on the target, exactly once` : `<span class="v-fail">${c.missing} missing, ${c.duplicated} duplicated</span> of ${h(formatCount(c.acknowledged))}`}</li>`);
  B.push('</ul></section>');
  return B;
}

/** Warnings with what became of them, and check findings still reported or resolved. */
function warningsSection(m: ReportModel): string[] {
  const B = ['<section id="warnings"><h2>Warnings and what was done about them</h2>'];
  if (m.warnings.length === 0 && m.findings.length === 0) B.push('<p>None.</p>');
  if (m.warnings.length) {
    B.push('<table><thead><tr><th>When</th><th>Command</th><th>Warning</th><th>What happened</th></tr></thead><tbody>');
    for (const w of m.warnings) B.push(`<tr><td class="when">${h(formatTime(w.at))}</td><td>${h(w.command)}</td><td>${h(w.message)}</td><td>${h(w.outcome)}</td></tr>`);
    B.push('</tbody></table>');
  }
  if (m.findings.length) {
    B.push('<h3>Check findings (warn and fail)</h3><table><thead><tr><th>Severity</th><th>Side</th><th>Finding</th><th>Fix</th><th>Status</th></tr></thead><tbody>');
    for (const f of m.findings) {
      const objs = f.objects.length ? `<br><span class="note">${h(f.objects.slice(0, 5).join(', '))}${f.objectCount > 5 ? ` +${f.objectCount - 5} more` : ''}</span>` : '';
      B.push(`<tr><td class="v-${f.severity}">${f.severity}</td><td>${h(f.side)}</td><td>${h(f.title)}${objs}</td><td>${h(f.fix ?? '')}</td><td>${f.stillReported ? 'still reported by the last check' : `not reported by the check of ${h(formatTime(f.resolvedAt))}`}</td></tr>`);
    }
    B.push('</tbody></table>');
  }
  B.push('</section>');
  return B;
}

/** Both clusters as the last check saw them. */
function clustersSection(m: ReportModel): string[] {
  const B = ['<section id="clusters"><h2>Clusters</h2>'];
  if (!m.clusters) B.push(`<p>No check recorded${m.versions.source ? `; status saw PostgreSQL ${h(m.versions.source)} &rarr; ${h(m.versions.target ?? '?')}` : ''}.</p>`);
  else {
    const c = m.clusters;
    B.push(`<p class="note">As check saw them ${h(formatTime(c.at))}.</p><table><thead><tr><th></th><th>Source</th><th>Target</th></tr></thead><tbody>`);
    const row = (k: string, a: string, b: string): string => `<tr><td>${h(k)}</td><td>${h(a)}</td><td>${h(b)}</td></tr>`;
    B.push(row('PostgreSQL', c.source.version, c.target.version), row('system identifier', c.source.systemIdentifier, c.target.systemIdentifier), row('role', c.source.role, c.target.role));
    for (const s of settingNames(m)) B.push(row(s, c.source.settings[s] ?? '', c.target.settings[s] ?? ''));
    B.push('</tbody></table>');
  }
  B.push('</section>');
  return B;
}
