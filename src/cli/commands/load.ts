import type { Command } from '../command.js';
import { DB_ARG, flagDuration, flagInt, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { parseLibpqConninfo, ConninfoSyntaxError, type ConnParams } from '../../config/conninfo.js';
import { runLoad } from '../../load/index.js';
import { formatDuration } from '../../util/duration.js';
import { METRICS_FLAG } from '../observe.js';

export const command: Command = {
  name: 'load',
  usage: 'load DB [--clients N] [--duration D] [--ledger FILE] [--via CONN] [--metrics HOST:PORT]',
  summary: 'ledgered write load on the source (or through PgBouncer with --via)',
  args: [DB_ARG],
  flags: {
    clients: { type: 'string', value: 'N', description: 'concurrent clients', default: '4' },
    duration: { type: 'string', value: 'D', description: 'how long to run (500ms, 30s, 10min, 2h, 1d)', default: 'until interrupted' },
    ledger: { type: 'string', value: 'FILE', description: 'record every acknowledged write here, for load-check' },
    via: { type: 'string', value: 'CONN', description: 'connect through this libpq string (PgBouncer) instead of source.conn' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'load');
    const config = ctx.config();
    const viaText = flagString(ctx, 'via');
    let via: { conn: ConnParams } | undefined;
    if (viaText !== undefined) {
      try {
        via = { conn: parseLibpqConninfo(viaText) };
      } catch (e) {
        if (e instanceof ConninfoSyntaxError) throw new UsageError(`--via: not a valid libpq connection string: ${e.message}`);
        throw e;
      }
      ctx.out.addSecret(via.conn.password);
    }
    const durationMs = flagDuration(ctx, 'duration');
    const clients = flagInt(ctx, 'clients') ?? 4;
    const ledgerFile = flagString(ctx, 'ledger');
    if (!ctx.json) {
      ctx.out.line(`load on ${database}: ${clients} clients${durationMs !== undefined ? ` for ${formatDuration(durationMs)}` : ' until interrupted (Ctrl-C)'}${ledgerFile ? `, ledger ${ledgerFile}` : ''}`);
    }
    const r = await runLoad({
      source: config.source, database, clients, durationMs, ledgerFile, via,
      emit: (e) => ctx.out.event(e), signal: ctx.signal,
    });
    ctx.out.endLive();
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
    } else {
      ctx.out.line(`transactions  ${r.transactions} acknowledged in ${formatDuration(r.durationMs)} (${r.tps} tps)`);
      ctx.out.line(`latency       p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`);
      ctx.out.line(`longest stall ${formatDuration(r.longestStallMs)}`);
      ctx.out.line(`errors        ${r.errors}${r.reconnects ? ` (${r.reconnects} reconnects)` : ''}`);
      for (const s of r.errorSamples) ctx.out.line(`  ${s}`);
      if (ledgerFile) ctx.out.line(`ledger        ${ledgerFile} (check with: pgshift load-check ${database} --ledger ${ledgerFile})`);
    }
    return EXIT.ok;
  },
};
