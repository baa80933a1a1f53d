import type { Command } from '../command.js';
import { DB_ARG, namedDatabases, flagInt, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { startReplication } from '../../steps/start.js';
import { startFastCopy, DEFAULT_FAST_COPY_JOBS } from '../../steps/fast-copy.js';
import { formatBytes, formatDuration } from '../../util/duration.js';
import { METRICS_FLAG } from '../observe.js';
import { DRY_RUN_FLAG, dryRunEmit, isDryRun, planJson, printPlan } from '../dry-run.js';
import { DryRun } from '../../pg/dry-run.js';

export const command: Command = {
  name: 'start',
  usage: 'start DB [--copy native|fast] [--jobs N] [--dry-run] [--metrics HOST:PORT]',
  summary: 'publication on the source, subscription on the target; the initial copy begins',
  args: [DB_ARG],
  // A dry run changes nothing, so it takes no lock (and another pgshift may be running).
  locks: (ctx) => (isDryRun(ctx) ? [] : namedDatabases(ctx)),
  flags: {
    copy: { type: 'string', value: 'native|fast', description: 'the initial copy: PostgreSQL\'s copy_data, or pgshift\'s parallel copy from an exported snapshot', default: 'native' },
    jobs: { type: 'string', value: 'N', description: 'parallel COPY pipes for --copy fast', default: '4' },
    'dry-run': DRY_RUN_FLAG,
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'start');
    const copy = flagString(ctx, 'copy') ?? 'native';
    if (copy !== 'native' && copy !== 'fast') throw new UsageError(`--copy: expected native or fast, found "${copy}"`);
    const jobs = flagInt(ctx, 'jobs', 1);
    if (jobs !== undefined && copy !== 'fast') throw new UsageError('--jobs goes with --copy fast (the native copy uses max_sync_workers_per_subscription on the target)');
    if (isDryRun(ctx)) {
      if (copy === 'fast') throw new UsageError('--dry-run plans the native copy only, not yet --copy fast', { hint: `Run "pgshift start ${database} --dry-run" to see the publication, replica identities and subscription start makes; the fast copy makes the same objects and copies the tables itself.` });
      const plan = new DryRun();
      const r = await startReplication(ctx.config(), database, { copy: 'native', emit: dryRunEmit(ctx), signal: ctx.signal, dryRun: plan });
      if (ctx.json) {
        ctx.out.writeJson({ ok: true, dryRun: true, changed: false, ...r, statements: planJson(plan) });
        return EXIT.ok;
      }
      const notes: string[] = [];
      if (r.publication.action === 'unchanged') notes.push(`publication ${r.publication.name} already exists on the source and lists the planned ${r.publication.tables} table(s): nothing to change`);
      if (r.subscription.action === 'unchanged') notes.push(`subscription ${r.subscription.name} already exists on the target: left as it is (replication has started)`);
      if (r.notCarried.length) notes.push(`${r.notCarried.length} table(s) would not be replicated; switchover copies them while writes are paused`);
      printPlan(ctx, `start ${database}`, plan, notes);
      return EXIT.ok;
    }
    const emit = (e: Parameters<typeof ctx.out.event>[0]): void => ctx.out.event(e);
    if (copy === 'fast') {
      const r = await startFastCopy(ctx.config(), database, { jobs: jobs ?? DEFAULT_FAST_COPY_JOBS, emit, signal: ctx.signal });
      if (ctx.json) {
        ctx.out.writeJson({ ok: true, copy: 'fast', ...r });
        return EXIT.ok;
      }
      if (r.alreadyDone) {
        ctx.out.line(`subscription ${r.subscription.name} already exists: the fast copy is done`);
      } else {
        ctx.out.line(`${r.restarted ? 'restarted after an interrupted copy; ' : ''}copied ${r.tables.length} tables, ${r.totals.rows.toLocaleString('en-US')} rows, ${formatBytes(r.totals.bytes)} in ${formatDuration(r.totals.copyMs)} (total ${formatDuration(r.totals.totalMs)})`);
        ctx.out.line(`subscription ${r.subscription.name} streams from ${r.slot.consistentPoint ?? 'the snapshot'}${r.subscription.options.length ? ` (${r.subscription.options.join(', ')})` : ''}`);
      }
      if (r.notCarried.length) ctx.out.line(`${r.notCarried.length} table(s) not replicated; switchover copies them while writes are paused`);
      ctx.out.line(`Next: pgshift -c ${ctx.configPath} wait ${database}`);
      return EXIT.ok;
    }
    const r = await startReplication(ctx.config(), database, { copy: 'native', emit, signal: ctx.signal });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
      return EXIT.ok;
    }
    ctx.out.line(`publication ${r.publication.name} on the source: ${r.publication.action} (${r.publication.tables} tables)`);
    ctx.out.line(`subscription ${r.subscription.name} on the target: ${r.subscription.action}${r.subscription.options.length ? ` (${r.subscription.options.join(', ')})` : ''}`);
    if (r.notCarried.length) ctx.out.line(`${r.notCarried.length} table(s) not replicated; switchover copies them while writes are paused`);
    ctx.out.line(`Next: pgshift -c ${ctx.configPath} wait ${database}   (or: status ${database} --watch)`);
    return EXIT.ok;
  },
};
