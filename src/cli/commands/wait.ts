import type { Command, CommandContext } from '../command.js';
import { DB_ARG, flagDuration, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { DEFAULT_MAX_LAG_BYTES, waitForSync } from '../../steps/wait.js';
import { formatBytes, formatDuration } from '../../util/duration.js';
import { METRICS_FLAG } from '../observe.js';

const BYTE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** "1048576", "512kB", "16MB", "1GiB" -> bytes (units are powers of 1024, like PostgreSQL's). */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = BYTE_UNITS[m[2]!.toLowerCase()];
  return unit === undefined ? undefined : Math.round(Number(m[1]) * unit);
}

export function flagBytes(ctx: CommandContext, name: string): number | undefined {
  const v = flagString(ctx, name);
  if (v === undefined) return undefined;
  const n = parseBytes(v);
  if (n === undefined) throw new UsageError(`--${name}: expected a size such as 0, 65536, 512kB or 16MB, found "${v}"`);
  return n;
}

export const command: Command = {
  name: 'wait',
  usage: 'wait DB [--timeout D] [--max-lag BYTES] [--metrics HOST:PORT]',
  summary: 'until every table is ready and lag is small; exit 1 with the reason otherwise',
  args: [DB_ARG],
  flags: {
    timeout: { type: 'string', value: 'D', description: 'give up (exit 1) after this long', default: '24h' },
    'max-lag': { type: 'string', value: 'BYTES', description: 'lag accepted as caught up (0, 65536, 512kB, 16MB)', default: '1MB' },
    interval: { type: 'string', value: 'D', description: 'time between looks', default: '1s' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'wait');
    const maxLagBytes = flagBytes(ctx, 'max-lag') ?? DEFAULT_MAX_LAG_BYTES;
    const r = await waitForSync(ctx.config(), database, {
      timeoutMs: flagDuration(ctx, 'timeout'),
      maxLagBytes,
      intervalMs: flagDuration(ctx, 'interval'),
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
    });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, database, ms: r.ms, status: r.status });
    } else {
      ctx.out.endLive();
      ctx.out.line(`${database}: ${r.status.tablesReady}/${r.status.tablesTotal} tables ready, lag ${formatBytes(r.status.lagBytes ?? 0)} (<= ${formatBytes(maxLagBytes)}) after ${formatDuration(r.ms)}`);
    }
    return EXIT.ok;
  },
};
