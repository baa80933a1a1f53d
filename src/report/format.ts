// How the report writes times, counts and sizes (Markdown and HTML alike).

import { formatBytes } from '../util/duration.js';
import type { ReportModel, Verdict } from './model.js';

export { formatBytes };
export { formatMs } from './model.js';

/** "2024-12-05 07:04:32 UTC" */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function verdictWord(v: Verdict): string {
  return { ok: 'ok', warn: 'warning', fail: 'FAILED', skip: 'skipped', running: 'no end recorded' }[v];
}

export function commandLine(r: ReportModel['runs'][number]): string {
  const flags = Object.entries(r.flags).map(([k, v]) => (v === true ? `--${k}` : `--${k} ${String(v)}`));
  return ['pgshift', r.command, ...r.args, ...flags].join(' ');
}

/** The settings rows of the clusters table, in the order check reads them. */
export function settingNames(m: ReportModel): string[] {
  if (!m.clusters) return [];
  return [...new Set([...Object.keys(m.clusters.source.settings), ...Object.keys(m.clusters.target.settings)])];
}
