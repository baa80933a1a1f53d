// Escaping for the report: names from the databases (hostile ones too) are
// text, never markup, in HTML and in Markdown (which renders inline HTML).

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A Markdown table cell: markup characters escaped, on one line. */
export function escapeMdCell(text: string): string {
  return escapeMd(text).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * Markdown text: HTML and the characters that start emphasis, code or links
 * escaped; an underscore only where it could open or close emphasis (not
 * inside a word like wal_level, which CommonMark leaves alone).
 */
export function escapeMd(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/([\\`*[\]#])/g, '\\$1')
    .replace(/_/g, (u, i: number, s: string) => (/\w/.test(s[i - 1] ?? '') && /\w/.test(s[i + 1] ?? '') ? u : '\\_'));
}
