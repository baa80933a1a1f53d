// "pgshift report": a database's journal as Markdown or one HTML file.

import { extname } from 'node:path';
import type { JournalRecord } from '../journal/journal.js';
import { buildReport, type ReportModel } from './model.js';
import { renderMarkdown } from './markdown.js';
import { renderHtml } from './html.js';

export type ReportFormat = 'markdown' | 'html';

/** By the output file's extension; undefined for one the report cannot be. */
export function formatForFile(file: string): ReportFormat | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  if (ext === '.html' || ext === '.htm') return 'html';
  return undefined;
}

export function renderReport(model: ReportModel, format: ReportFormat): string {
  return format === 'html' ? renderHtml(model) : renderMarkdown(model);
}

export { buildReport, renderMarkdown, renderHtml, type ReportModel, type JournalRecord };
