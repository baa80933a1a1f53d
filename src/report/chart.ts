// Line charts as inline SVG (no script, no remote asset): axes with round
// ticks, a polyline per series, the area under the first one. Values are
// plotted as given; the caller says what they are.

import { escapeHtml } from './escape.js';

export interface ChartSeries {
  name: string;
  /** x: milliseconds since the start; y: the value. */
  points: { x: number; y: number }[];
  color: string;
}

export interface ChartOptions {
  id: string;
  title: string;
  series: ChartSeries[];
  formatY: (v: number) => string;
  width?: number;
  height?: number;
}

/** 1, 2 or 5 times a power of ten, at least span / count. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0)) return 1;
  const raw = span / count;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Time steps people read: seconds, minutes, hours. */
function timeStep(spanMs: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);
  return steps.find((s) => spanMs / s <= 8) ?? 86_400_000 * Math.ceil(spanMs / 86_400_000 / 8);
}

export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${String(s % 60).padStart(2, '0')}s` : ''}`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`;
}

/** At most `max` points: the largest y of each bucket (a spike stays visible). */
export function downsample(points: { x: number; y: number }[], max = 600): { x: number; y: number }[] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    out.push(bucket.reduce((a, b) => (b.y > a.y ? b : a)));
  }
  return out;
}

const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 760;
  const H = o.height ?? 240;
  const m = { left: 78, right: 16, top: 28, bottom: 34 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const series = o.series.map((s) => ({ ...s, points: downsample(s.points.filter((p) => Number.isFinite(p.y))) }));
  const all = series.flatMap((s) => s.points);
  const maxX = Math.max(1000, ...all.map((p) => p.x));
  const rawMaxY = Math.max(0, ...all.map((p) => p.y));
  const yStep = niceStep(rawMaxY || 1, 4);
  const maxY = Math.max(yStep, Math.ceil(rawMaxY / yStep) * yStep);
  const sx = (x: number): number => m.left + (x / maxX) * pw;
  const sy = (y: number): number => m.top + ph - (y / maxY) * ph;

  const parts: string[] = [];
  parts.push(`<svg class="chart" id="${escapeHtml(o.id)}" data-points="${all.length}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(o.title)}" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<text class="chart-title" x="${m.left}" y="17">${escapeHtml(o.title)}</text>`);
  for (let y = 0; y <= maxY + yStep / 2; y += yStep) {
    parts.push(`<line class="grid" x1="${m.left}" x2="${W - m.right}" y1="${r1(sy(y))}" y2="${r1(sy(y))}"/>`);
    parts.push(`<text class="tick" x="${m.left - 6}" y="${r1(sy(y) + 4)}" text-anchor="end">${escapeHtml(o.formatY(y))}</text>`);
  }
  const xStep = timeStep(maxX);
  for (let x = 0; x <= maxX; x += xStep) {
    parts.push(`<line class="tickmark" x1="${r1(sx(x))}" x2="${r1(sx(x))}" y1="${m.top + ph}" y2="${m.top + ph + 4}"/>`);
    parts.push(`<text class="tick" x="${r1(sx(x))}" y="${m.top + ph + 17}" text-anchor="middle">${formatElapsed(x)}</text>`);
  }
  parts.push(`<line class="axis" x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}"/>`);
  parts.push(`<line class="axis" x1="${m.left}" x2="${W - m.right}" y1="${m.top + ph}" y2="${m.top + ph}"/>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const pts = s.points.map((p) => `${r1(sx(p.x))},${r1(sy(p.y))}`);
    if (i === 0 && s.points.length > 1) {
      const first = s.points[0]!;
      const last = s.points[s.points.length - 1]!;
      parts.push(`<polygon class="area" fill="${s.color}" points="${r1(sx(first.x))},${r1(sy(0))} ${pts.join(' ')} ${r1(sx(last.x))},${r1(sy(0))}"/>`);
    }
    parts.push(`<polyline class="line" data-series="${escapeHtml(s.name)}" stroke="${s.color}" points="${pts.join(' ')}"/>`);
    // A single look is a dot, not an invisible line.
    if (s.points.length === 1) parts.push(`<circle cx="${pts[0]!.split(',')[0]}" cy="${pts[0]!.split(',')[1]}" r="3" fill="${s.color}"/>`);
  });
  if (series.length > 1) {
    series.forEach((s, i) => {
      const x = W - m.right - 150 * (series.length - i);
      parts.push(`<rect x="${x}" y="8" width="10" height="10" fill="${s.color}"/><text class="legend" x="${x + 14}" y="17">${escapeHtml(s.name)}</text>`);
    });
  }
  parts.push('<text class="axis-label" x="' + (W - m.right) + '" y="' + (H - 2) + '" text-anchor="end">time since the command started</text>');
  parts.push('</svg>');
  return parts.join('');
}
