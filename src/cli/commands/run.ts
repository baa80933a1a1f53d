import type { Command } from '../command.js';
import { DB_ARG, flagDuration, oneDatabase } from '../command.js';
import { EXIT } from '../../errors.js';
import { runPipeline } from '../../steps/run.js';
import { formatBytes } from '../../util/duration.js';
import { flagBytes } from './wait.js';
import { METRICS_FLAG } from '../observe.js';

export const command: Command = {
  name: 'run',
  usage: 'run DB [--timeout D] [--max-lag BYTES] [--no-passwords] [--managed] [--metrics HOST:PORT]',
  summary: 'check, roles, schema, start, wait; resumable (re-run after any interruption)',
  args: [DB_ARG],
  flags: {
    timeout: { type: 'string', value: 'D', description: 'how long the wait step may take', default: '24h' },
    'max-lag': { type: 'string', value: 'BYTES', description: 'lag the wait step accepts as caught up (512kB, 16MB)', default: '1MB' },
    'no-passwords': { type: 'boolean', description: 'roles step: create the roles without their password hashes' },
    managed: { type: 'boolean', description: 'roles step: leave out SUPERUSER, REPLICATION and BYPASSRLS (managed targets)' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'run');
    const r = await runPipeline(ctx.config(), database, {
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
      timeoutMs: flagDuration(ctx, 'timeout'),
      maxLagBytes: flagBytes(ctx, 'max-lag'),
      noPasswords: ctx.flags['no-passwords'] === true,
      managed: ctx.flags.managed === true,
    });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
    } else {
      ctx.out.endLive();
      ctx.out.line(`${database}: replicating, ${r.status.tablesReady}/${r.status.tablesTotal} tables ready, lag ${formatBytes(r.status.lagBytes ?? 0)}`);
      ctx.out.line(`Next: pgshift -c ${ctx.configPath} verify ${database}, then switchover ${database}`);
    }
    return EXIT.ok;
  },
};
