// Reading a journal back: whole (the report) or as it grows (a metrics
// endpoint picks up what other commands appended). Lines that do not parse
// (a process killed in the middle of a write) are counted and skipped.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { JOURNAL_FORMAT_VERSION, type JournalRecord } from './journal.js';

export interface JournalContents {
  records: JournalRecord[];
  /** Lines that are not a record of this format. */
  damaged: number;
}

function parseLines(text: string, into: JournalContents): void {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as JournalRecord;
      if (r && r.v === JOURNAL_FORMAT_VERSION && typeof r.event === 'object' && r.event !== null) into.records.push(r);
      else into.damaged++;
    } catch {
      into.damaged++;
    }
  }
}

/** The whole journal; undefined when the file does not exist. */
export function readJournal(file: string): JournalContents | undefined {
  if (!existsSync(file)) return undefined;
  const tail = new JournalTail(file);
  return tail.read(true);
}

/** Reads the records appended since the last read; a line still being written waits for the next. */
export class JournalTail {
  private offset = 0;
  private partial = Buffer.alloc(0);

  constructor(readonly file: string) {}

  read(final = false): JournalContents {
    const out: JournalContents = { records: [], damaged: 0 };
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return out;
    }
    if (size < this.offset) {
      // Replaced or truncated: start over.
      this.offset = 0;
      this.partial = Buffer.alloc(0);
    }
    if (size > this.offset) {
      const fd = openSync(this.file, 'r');
      try {
        const chunk = Buffer.alloc(size - this.offset);
        let got = 0;
        while (got < chunk.length) {
          const n = readSync(fd, chunk, got, chunk.length - got, this.offset + got);
          if (n === 0) break;
          got += n;
        }
        this.offset += got;
        this.partial = Buffer.concat([this.partial, chunk.subarray(0, got)]);
      } finally {
        closeSync(fd);
      }
    }
    const end = final ? this.partial.length : this.partial.lastIndexOf(0x0a) + 1;
    parseLines(this.partial.subarray(0, end).toString('utf8'), out);
    this.partial = this.partial.subarray(end);
    return out;
  }
}
