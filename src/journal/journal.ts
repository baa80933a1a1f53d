// The journal: every command appends the events it sees, as NDJSON, to
// .pgshift/<database>.ndjson next to the config, so a report can be made
// later from many separate commands (src/report). One line per record; a
// line is written with one write() on a file opened for appending, so
// commands running at the same time (load beside switchover, status --watch
// beside everything) do not interleave inside a line.
//
// No secrets: every string (keys too) passes through the CLI's redactor,
// which knows every password of the config, before it is serialized, so a
// password with quotes or backslashes is caught before JSON escapes it.
// Flags that carry connection strings are not recorded at all.
//
// Status looks and progress are sampled: every second for a command's first
// minute, every 10 s up to an hour, then every minute; the last look before
// any other record, and before the end, is always kept. A journal write that
// fails (a read-only directory, a full disk) warns once and stops the
// journal: it never fails the migration.

import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { PgshiftEvent } from '../events.js';

export const JOURNAL_FORMAT_VERSION = 1;

/** What a journal line holds besides the library's own events: a command's start and end. */
export type CommandEvent =
  | { type: 'command'; state: 'start'; pgshift: string; pid: number; args: string[]; flags: Record<string, string | boolean> }
  | { type: 'command'; state: 'end'; ms: number; exitCode: number; error?: { code: string; message: string; hint?: string } };

export type JournalEvent = PgshiftEvent | CommandEvent;

export interface JournalRecord {
  v: typeof JOURNAL_FORMAT_VERSION;
  time: string;
  /** One id per command run: the records of one invocation share it. */
  run: string;
  command: string;
  database: string;
  event: JournalEvent;
}

/** The journal directory: .pgshift beside the config file. */
export function journalDir(configPath: string): string {
  return join(dirname(resolve(configPath)), '.pgshift');
}

/**
 * A database name as a file name: letters, digits, "_" and "-" stay, every
 * other byte of its UTF-8 is %XX, so "a/b", ".." or "x.y" cannot leave the
 * directory or look hidden, and two names never share a file.
 */
export function journalFileName(database: string): string {
  let out = '';
  for (const byte of Buffer.from(database, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `${out}.ndjson`;
}

export function journalFile(configPath: string, database: string): string {
  return join(journalDir(configPath), journalFileName(database));
}

/** Every string in a value (object keys included) through the redactor. */
export function redactDeep<T>(value: T, redact: (s: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, redact)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== undefined) out[redact(k)] = redactDeep(v, redact);
    }
    return out as T;
  }
  return value;
}

export interface JournalSink {
  write(record: JournalRecord): void;
  close(): void;
}

/** Appends to a journal file, created 0600 in a 0700 directory on the first record. */
export class FileSink implements JournalSink {
  private fd?: number;
  private failed = false;

  constructor(readonly file: string, private readonly onError: (e: Error) => void) {}

  write(record: JournalRecord): void {
    if (this.failed) return;
    try {
      if (this.fd === undefined) {
        // One level (.pgshift beside the config), not recursive: node's recursive mkdir
        // spins forever where mkdir says ENOENT under an existing parent (/proc, some FUSE mounts).
        try {
          mkdirSync(dirname(this.file), { mode: 0o700 });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        this.fd = openSync(this.file, 'a', 0o600);
        // A process killed in the middle of a line left it unfinished: start on a new one.
        const size = fstatSync(this.fd).size;
        if (size > 0 && !endsWithNewline(this.file, size)) writeSync(this.fd, '\n');
      }
      writeSync(this.fd, JSON.stringify(record) + '\n');
    } catch (e) {
      this.failed = true;
      this.onError(e as Error);
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function endsWithNewline(file: string, size: number): boolean {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Keeps records in memory, exactly as a file would give them back (the demo's report). */
export class MemorySink implements JournalSink {
  readonly records: JournalRecord[] = [];
  write(record: JournalRecord): void {
    this.records.push(JSON.parse(JSON.stringify(record)) as JournalRecord);
  }
  close(): void {}
}

/** The least time between two kept samples of one series, by how long the command has run. */
export function sampleGapMs(elapsedMs: number): number {
  if (elapsedMs < 60_000) return 1000;
  if (elapsedMs < 3_600_000) return 10_000;
  return 60_000;
}

export interface CommandJournalOptions {
  command: string;
  /** pgshift's version. */
  version: string;
  args: string[];
  flags: Record<string, string | boolean>;
  /** The databases this command is about; undefined: none (nothing is journaled). Asked once, at the first record. */
  databases: () => string[] | undefined;
  sinkFor: (database: string) => JournalSink;
  redact: (s: string) => string;
  now?: () => number;
}

/** Which database an event is about, when it says (status looks and results do). */
function databaseOf(e: JournalEvent): string | undefined {
  if (e.type === 'status') return e.data.database;
  if (e.type === 'result' && 'database' in e.data) return e.data.database;
  if (e.type === 'phase' || e.type === 'warn') return e.database;
  return undefined;
}

/** Sampled series: status looks per database, progress per task. Other events are always kept. */
function seriesOf(e: JournalEvent): string | undefined {
  if (e.type === 'status') return 'status';
  if (e.type === 'progress') return `progress\u0000${e.task}`;
  return undefined;
}

/** One command's records, to each of its databases' journals. */
export class CommandJournal {
  readonly run = randomUUID();
  private readonly started: number;
  private readonly now: () => number;
  private sinks?: Map<string, JournalSink>;
  private readonly buffer: { at: number; event: JournalEvent }[] = [];
  private readonly lastKept = new Map<string, number>();
  private readonly pending = new Map<string, { database: string; at: number; event: JournalEvent }>();

  constructor(private readonly opts: CommandJournalOptions) {
    this.now = opts.now ?? Date.now;
    this.started = this.now();
    this.buffer.push({ at: this.started, event: { type: 'command', state: 'start', pgshift: opts.version, pid: process.pid, args: opts.args, flags: opts.flags } });
  }

  event(e: PgshiftEvent): void {
    // Progress of wait repeats its status looks in words.
    if (e.type === 'progress' && e.task.startsWith('wait:')) return;
    this.add(e, this.now());
  }

  end(exitCode: number, error?: { code: string; message: string; hint?: string }): void {
    const at = this.now();
    // Not a sampled record: the last looks are written before it.
    this.add({ type: 'command', state: 'end', ms: at - this.started, exitCode, ...(error ? { error } : {}) }, at);
  }

  close(): void {
    for (const s of this.sinks?.values() ?? []) s.close();
  }

  private open(): Map<string, JournalSink> {
    if (!this.sinks) {
      let databases: string[] = [];
      try {
        databases = this.opts.databases() ?? [];
      } catch {
        // A config that does not load: the command reports that itself.
      }
      this.sinks = new Map(databases.map((d) => [d, this.opts.sinkFor(d)]));
      for (const b of this.buffer.splice(0)) for (const d of this.sinks.keys()) this.write(d, b.at, b.event);
    }
    return this.sinks;
  }

  private add(e: JournalEvent, at: number): void {
    const sinks = this.open();
    const only = databaseOf(e);
    const series = seriesOf(e);
    for (const database of sinks.keys()) {
      if (only !== undefined && only !== database) continue;
      if (series === undefined) {
        this.flushPending(database);
        this.write(database, at, e);
        continue;
      }
      const key = `${database}\u0000${series}`;
      const last = this.lastKept.get(key);
      if (last === undefined || at - last >= sampleGapMs(at - this.started)) {
        this.pending.delete(key);
        this.lastKept.set(key, at);
        this.write(database, at, e);
      } else {
        this.pending.set(key, { database, at, event: e });
      }
    }
  }

  private flushPending(database?: string): void {
    for (const [key, p] of [...this.pending]) {
      if (database !== undefined && p.database !== database) continue;
      this.pending.delete(key);
      this.lastKept.set(key, p.at);
      this.write(p.database, p.at, p.event);
    }
  }

  private write(database: string, at: number, event: JournalEvent): void {
    const record: JournalRecord = {
      v: JOURNAL_FORMAT_VERSION,
      time: new Date(at).toISOString(),
      run: this.run,
      command: this.opts.command,
      database,
      event,
    };
    this.sinks!.get(database)!.write(redactDeep(record, this.opts.redact));
  }
}
