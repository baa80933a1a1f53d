// The ledger file: one line per acknowledged transaction (its ledger id),
// written only after COMMIT returned OK, so the file lists exactly the writes
// a client was told succeeded. Each run starts with a header line naming its
// run id, so load-check can tell this run's committed-but-unacknowledged rows
// from other runs'. fsync'd every second and at the end.

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { ProblemError } from '../errors.js';

const HEADER = '# pgshift load run ';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class LedgerWriter {
  private fd: number;
  private dirty = false;
  private timer: NodeJS.Timeout;

  constructor(readonly path: string, runId: string) {
    this.fd = openSync(path, 'a', 0o600);
    writeSync(this.fd, `${HEADER}${runId} ${new Date().toISOString()}\n`);
    fsyncSync(this.fd);
    this.timer = setInterval(() => this.sync(), 1000);
    this.timer.unref();
  }

  add(id: string): void {
    writeSync(this.fd, id + '\n');
    this.dirty = true;
  }

  sync(): void {
    if (!this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  close(): void {
    clearInterval(this.timer);
    this.sync();
    closeSync(this.fd);
  }
}

export type LedgerLine = { kind: 'run'; run: string } | { kind: 'id'; id: string } | { kind: 'blank' };

/** Parse one line of a ledger file; throws naming the file and line on anything else. */
export function parseLedgerLine(text: string, file: string, lineNo: number): LedgerLine {
  const line = text.trim();
  if (line === '') return { kind: 'blank' };
  if (line.startsWith(HEADER)) {
    const run = line.slice(HEADER.length).split(' ')[0]!;
    if (UUID.test(run)) return { kind: 'run', run };
  } else if (UUID.test(line)) {
    return { kind: 'id', id: line };
  }
  throw new ProblemError('ledger_malformed', `${file}:${lineNo}: not a pgshift load ledger line: "${line.slice(0, 60)}"`, {
    hint: 'Pass the file that "pgshift load --ledger FILE" wrote; it holds one transaction id per line.',
  });
}
