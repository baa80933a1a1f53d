import type { Command } from '../command.js';
import { DB_ARG, namedDatabases, flagDuration, flagInt, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { DEFAULT_FAST_COPY_JOBS } from '../../steps/fast-copy.js';
import { runPipeline } from '../../steps/run.js';
import { formatBytes } from '../../util/duration.js';
import { flagBytes } from './wait.js';
import { METRICS_FLAG } from '../observe.js';
import { DEFAULT_ANALYZE_JOBS } from '../../steps/analyze.js';

export const command: Command = {
  name: 'run',
  usage: 'run DB [--copy native|fast] [--jobs N] [--timeout D] [--max-lag BYTES] [--no-passwords] [--managed] [--analyze-jobs N] [--metrics HOST:PORT]',
  summary: 'check, roles, schema, start (native or --copy fast), wait, analyze; resumable (re-run after any interruption)',
  args: [DB_ARG],
  locks: namedDatabases,
  flags: {
    copy: { type: 'string', value: 'native|fast', description: 'the initial copy: PostgreSQL\'s copy_data, or pgshift\'s parallel copy from an exported snapshot (docs/fast-copy.md)', default: 'native' },
    jobs: { type: 'string', value: 'N', description: 'parallel COPY pipes for --copy fast', default: String(DEFAULT_FAST_COPY_JOBS) },
    timeout: { type: 'string', value: 'D', description: 'how long the wait step may take', default: '24h' },
    'max-lag': { type: 'string', value: 'BYTES', description: 'lag the wait step accepts as caught up (512kB, 16MB)', default: '1MB' },
    'no-passwords': { type: 'boolean', description: 'roles step: create the roles without their password hashes' },
    managed: { type: 'boolean', description: 'roles step: leave out SUPERUSER, REPLICATION and BYPASSRLS (managed targets)' },
    metrics: METRICS_FLAG,
    'analyze-jobs': { type: 'string', value: 'N', description: 'analyze step: tables analyzed at once on the target', default: String(DEFAULT_ANALYZE_JOBS) },
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'run');
    const copy = flagString(ctx, 'copy') ?? 'native';
    if (copy !== 'native' && copy !== 'fast') throw new UsageError(`--copy: expected native or fast, found "${copy}"`);
    const jobs = flagInt(ctx, 'jobs', 1);
    if (jobs !== undefined && copy !== 'fast') throw new UsageError('--jobs goes with --copy fast (the native copy uses max_sync_workers_per_subscription on the target)');
    const r = await runPipeline(ctx.config(), database, {
      copy,
      jobs,
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
      timeoutMs: flagDuration(ctx, 'timeout'),
      maxLagBytes: flagBytes(ctx, 'max-lag'),
      noPasswords: ctx.flags['no-passwords'] === true,
      managed: ctx.flags.managed === true,
      analyzeJobs: flagInt(ctx, 'analyze-jobs'),
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
