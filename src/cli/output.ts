// Rendering: human output on stderr (colour only on a TTY, NO_COLOR
// respected); with --json, one JSON document on stdout (NDJSON documents
// with --watch) and the progress events as NDJSON on stderr, each carrying
// JSON_FORMAT_VERSION. Help and --version go to stdout.
// Every line passes through a redactor that masks any secret pgshift knows.

import type { PgshiftEvent, Severity } from '../events.js';
import { formatBytes, formatDuration } from '../util/duration.js';

/**
 * The version of every --json document's shape. Within a version fields are
 * only added; a field renamed, removed or changing meaning bumps it.
 * 2: status's `problems` and switchover/rollback's `warnings` are
 * {code, message, fix} objects, no longer strings (README "status --json").
 */
export const JSON_FORMAT_VERSION = 2;

/** quiet: warnings, failures and results only; verbose: also error causes and stacks. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface OutputOptions {
  json: boolean;
  verbosity?: Verbosity;
  stdout?: NodeJS.WriteStream | NodeJS.WritableStream;
  stderr?: NodeJS.WriteStream | NodeJS.WritableStream;
}

export class Output {
  readonly json: boolean;
  readonly color: boolean;
  readonly tty: boolean;
  readonly verbosity: Verbosity;
  private secrets: string[] = [];
  private readonly out: NodeJS.WritableStream;
  private readonly err: NodeJS.WritableStream;
  private liveLine = false;
  private listeners: ((e: PgshiftEvent) => void)[] = [];
  private lastPlainProgress = new Map<string, number>();

  constructor(opts: OutputOptions) {
    this.json = opts.json;
    this.verbosity = opts.verbosity ?? 'normal';
    this.out = opts.stdout ?? process.stdout;
    this.err = opts.stderr ?? process.stderr;
    this.tty = Boolean((this.err as NodeJS.WriteStream).isTTY);
    this.color = this.tty && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  }

  /** Anything in this list is masked wherever it would be printed. */
  addSecret(s: string | undefined): void {
    if (s && s.length >= 1 && !this.secrets.includes(s)) this.secrets.push(s);
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let t = text;
    for (const s of this.secrets) {
      // The password as written, in a URI, quoted for libpq or SQL, and escaped in JSON (--json documents are redacted after serializing).
      const forms = new Set([s, encodeURIComponent(s), s.replace(/\\/g, '\\\\').replace(/'/g, "\\'"), s.replace(/'/g, "''"), JSON.stringify(s).slice(1, -1)]);
      for (const f of [...forms].sort((a, b) => b.length - a.length)) if (f.length > 0) t = t.split(f).join('********');
    }
    return t;
  }

  private clearLive(): void {
    if (this.liveLine) {
      this.err.write('\r\x1b[2K');
      this.liveLine = false;
    }
  }

  /** A line for people, on stderr. */
  line(text = ''): void {
    this.clearLive();
    this.err.write(this.redact(text) + '\n');
  }

  /** Text that is the command's answer (help, version), on stdout. */
  print(text: string): void {
    this.out.write(this.redact(text) + '\n');
  }

  /** The one JSON document (or an NDJSON line) on stdout, with its format version first. */
  writeJson(value: unknown): void {
    const doc = value !== null && typeof value === 'object' && !Array.isArray(value) ? { formatVersion: JSON_FORMAT_VERSION, ...value } : value;
    this.out.write(this.redact(JSON.stringify(doc, jsonReplacer)) + '\n');
  }

  paint(text: string, style: 'red' | 'green' | 'yellow' | 'dim' | 'bold' | 'cyan'): string {
    if (!this.color) return text;
    const codes = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1, cyan: 36 } as const;
    return `\x1b[${codes[style]}m${text}\x1b[0m`;
  }

  severity(s: Severity): string {
    if (s === 'ok') return this.paint('ok  ', 'green');
    if (s === 'warn') return this.paint('warn', 'yellow');
    return this.paint('FAIL', 'red');
  }

  /** Live progress: a bar rewritten in place on a TTY, a line every few seconds otherwise. */
  progress(key: string, text: string, fraction?: number): void {
    if (this.json || this.verbosity === 'quiet') return;
    if (this.tty) {
      const width = 24;
      const bar = fraction === undefined ? '' : '[' + '#'.repeat(Math.round(fraction * width)).padEnd(width, '.') + '] ';
      this.err.write('\r\x1b[2K' + this.redact(bar + text).slice(0, ((this.err as NodeJS.WriteStream).columns ?? 120) - 1));
      this.liveLine = true;
      return;
    }
    const now = Date.now();
    if (now - (this.lastPlainProgress.get(key) ?? 0) < 5000 && fraction !== 1) return;
    this.lastPlainProgress.set(key, now);
    this.line(text);
  }

  /** Hear every event the command sees (the journal and the metrics); returns the way to stop. */
  onEvent(listener: (e: PgshiftEvent) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** An event for the listeners only, not rendered (a command's own status looks, check's steps in human mode). */
  observe(e: PgshiftEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Default rendering of library events (listeners hear them first). */
  event(e: PgshiftEvent): void {
    this.observe(e);
    if (this.json) {
      // stdout carries exactly one JSON document; events go to stderr as NDJSON.
      this.err.write(this.redact(JSON.stringify({ formatVersion: JSON_FORMAT_VERSION, event: e.type, ...e, time: new Date().toISOString() }, jsonReplacer)) + '\n');
      return;
    }
    // --quiet keeps what needs attention: warnings and failures.
    if (this.verbosity === 'quiet' && e.type !== 'warn' && !(e.type === 'step' && e.state === 'fail') && !(e.type === 'phase' && e.state === 'fail')) return;
    switch (e.type) {
      case 'step':
        if (e.state === 'start') this.line(this.paint(`==> ${e.step}`, 'bold') + (e.message ? ` ${e.message}` : ''));
        else if (e.state === 'skip') this.line(`    ${e.step}: ${this.paint('already done', 'dim')}${e.message ? ` (${e.message})` : ''}`);
        else if (e.state === 'done') this.line(`    ${e.step}: ${this.paint('done', 'green')}${e.ms !== undefined ? ` in ${formatDuration(e.ms)}` : ''}${e.message ? ` - ${e.message}` : ''}`);
        else this.line(`    ${e.step}: ${this.paint('failed', 'red')}${e.message ? ` - ${e.message}` : ''}`);
        break;
      case 'phase':
        if (e.state === 'done') this.line(`    ${phaseLabel(e).padEnd(22)} ${e.ms !== undefined ? formatDuration(e.ms) : ''}${e.message ? `  ${e.message}` : ''}`);
        else if (e.state === 'fail') this.line(`    ${phaseLabel(e).padEnd(22)} ${this.paint('failed', 'red')}${e.message ? `  ${e.message}` : ''}`);
        break;
      case 'info':
        this.line(e.message);
        break;
      case 'warn':
        this.line(this.paint('warning: ', 'yellow') + (e.database !== undefined ? `${e.database}: ` : '') + e.message);
        if (e.fix) this.line(`         ${this.paint('fix:', 'cyan')} ${e.fix}`);
        break;
      case 'progress': {
        const frac = e.total ? Math.min(1, e.done / e.total) : undefined;
        const amount = e.unit === 'bytes' ? `${formatBytes(e.done)}${e.total ? ` / ${formatBytes(e.total)}` : ''}` : `${e.done}${e.total !== undefined ? ` / ${e.total}` : ''} ${e.unit ?? ''}`;
        const rate = e.rate !== undefined ? ` ${e.unit === 'bytes' ? formatBytes(e.rate) : Math.round(e.rate)}${e.unit === 'bytes' ? '' : ` ${e.unit ?? ''}`}/s` : '';
        const eta = e.etaMs !== undefined ? ` ETA ${formatDuration(e.etaMs)}` : '';
        this.progress(e.task, `${e.label ?? e.task}: ${amount}${rate}${eta}`, frac);
        break;
      }
      case 'status':
      case 'result':
        break;
    }
  }

  endLive(): void {
    if (this.liveLine) {
      this.err.write('\n');
      this.liveLine = false;
    }
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** A phase as a progress line names it: "db: phase" when several databases move at once. */
function phaseLabel(e: { phase: string; database?: string }): string {
  return e.database !== undefined ? `${e.database}: ${e.phase}` : e.phase;
}
