import type { Command } from '../command.js';
import { DB_ARG, flagInt, namedDatabases, oneDatabase } from '../command.js';
import { EXIT } from '../../errors.js';
import { analyzeTarget, DEFAULT_ANALYZE_JOBS } from '../../steps/analyze.js';
import { formatDuration } from '../../util/duration.js';

export const command: Command = {
  name: 'analyze',
  usage: 'analyze DB [--jobs N] [--vacuum]',
  summary: 'planner statistics on the target before it serves: ANALYZE every replicated table, in parallel',
  args: [DB_ARG],
  locks: namedDatabases,
  flags: {
    jobs: { type: 'string', value: 'N', description: 'tables analyzed at once (one session each on the target)', default: String(DEFAULT_ANALYZE_JOBS) },
    vacuum: { type: 'boolean', description: 'VACUUM ANALYZE: also sets the visibility map, so index-only scans work from the start' },
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'analyze');
    const jobs = flagInt(ctx, 'jobs');
    const r = await analyzeTarget(ctx.config(), database, {
      jobs,
      vacuum: ctx.flags.vacuum === true,
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
    });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
    } else {
      ctx.out.endLive();
      ctx.out.line(r.analyzed.length === 0
        ? `${database}: no replicated table on the target to analyze`
        : `${database}: ${r.vacuum ? 'VACUUM ANALYZE' : 'ANALYZE'} done on the target for ${r.tables} table(s) in ${formatDuration(r.ms)} (${r.jobs} job(s))`);
    }
    return EXIT.ok;
  },
};
