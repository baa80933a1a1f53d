import type { Command } from '../command.js';
import { DB_ARG, flagInt, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { splitTableList, verifyDatabase, type VerifyMode, type VerifyReport } from '../../verify/index.js';
import { formatKey } from '../../verify/canonical.js';
import { formatDuration } from '../../util/duration.js';
import type { Output } from '../output.js';
import { databaseConfig } from '../../config/config.js';
import { METRICS_FLAG } from '../observe.js';
import { tablesReplicationCannotCarry } from '../../steps/start.js';
import { connect } from '../../pg/connect.js';
import { namesFor } from '../../replication/names.js';
import { planReverse } from '../../switchover/reverse.js';
import type { Config } from '../../config/config.js';

/**
 * After a switchover (the reverse slot exists on the target): the target
 * tables reverse replication does not carry, which a rollback copies.
 * Before it: none.
 */
async function tablesReverseCannotCarry(config: Config, database: string): Promise<{ schema: string; name: string }[]> {
  const target = await connect('target', config.target, { database });
  try {
    const slot = await target.maybeOne("SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND database = current_database()", [namesFor(database).reverseSlot]);
    if (!slot) return [];
    const source = await connect('source', config.source, { database });
    try {
      return (await planReverse(config, database, source, target)).notCarried;
    } finally {
      await source.close();
    }
  } finally {
    await target.close();
  }
}

const MODES: VerifyMode[] = ['count', 'sample', 'full'];

export const command: Command = {
  name: 'verify',
  usage: 'verify DB [--mode count|sample|full] [--tables T,...] [--jobs N] [--limit N] [--sample-size N] [--metrics HOST:PORT]',
  summary: 'compare data on both sides; exit 1 naming tables and keys that differ',
  args: [DB_ARG],
  flags: {
    mode: { type: 'string', value: 'count|sample|full', description: 'exact counts, sampled rows, or every row by key-range hashes', default: 'full' },
    tables: { type: 'string', value: 'T,...', description: 'only these schema.table names (comma-separated; "a.b"."c" for names with dots)', default: 'every replicated table' },
    jobs: { type: 'string', value: 'N', description: 'tables compared at once', default: '2' },
    limit: { type: 'string', value: 'N', description: 'differing keys listed per table (0: none)', default: '100' },
    'sample-size': { type: 'string', value: 'N', description: 'rows per table with --mode sample', default: '100' },
    metrics: METRICS_FLAG,
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'verify');
    const mode = (flagString(ctx, 'mode') ?? 'full') as VerifyMode;
    if (!MODES.includes(mode)) throw new UsageError(`--mode: expected count, sample or full, found "${mode}"`);
    const config = ctx.config();
    const db = databaseConfig(config, database);
    const tablesFlag = flagString(ctx, 'tables');
    const report = await verifyDatabase({
      source: config.source,
      target: config.target,
      database,
      exclude: db.exclude,
      copiedAtSwitchover: await tablesReplicationCannotCarry(config, database),
      copiedAtRollback: await tablesReverseCannotCarry(config, database),
      mode,
      tables: tablesFlag === undefined ? undefined : splitTableList(tablesFlag),
      jobs: flagInt(ctx, 'jobs'),
      limit: flagInt(ctx, 'limit', 0),
      sampleSize: flagInt(ctx, 'sample-size'),
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
    });
    ctx.out.endLive();
    if (ctx.json) ctx.out.writeJson({ ok: report.identical, ...report });
    else render(ctx.out, report);
    return report.identical ? EXIT.ok : EXIT.problem;
  },
};

function render(out: Output, r: VerifyReport): void {
  for (const w of r.warnings) out.line(out.paint('warning: ', 'yellow') + w);
  for (const t of r.tables) {
    const rows = t.method === 'sample' ? `${t.checkedRows} sampled rows` : `${t.sourceRows ?? t.checkedRows} rows`;
    const how = t.method === 'ranges' ? `, ${t.ranges} range${t.ranges === 1 ? '' : 's'}` : t.method === 'whole' ? ', no key: compared as a whole' : '';
    if (t.status === 'same') {
      out.line(`${out.severity('ok')} ${t.table}  ${rows}${how}`);
      continue;
    }
    if (t.status === 'unsettled') {
      out.line(`${out.severity('warn')} ${t.table}  ${rows}${how}; ${t.unsettledRows} kept changing on the source and could not be compared`);
      continue;
    }
    if (t.status === 'deferred') {
      out.line(`${out.paint('later', 'dim')} ${t.table}  ${t.note ?? ''}`);
      continue;
    }
    // A missing table or column is never cut into ranges.
    const problemHow = t.method === 'ranges' && t.ranges === undefined ? '' : how;
    out.line(`${out.severity('fail')} ${t.table}  ${t.problem ?? `${t.differenceCount} row${t.differenceCount === 1 ? '' : 's'} differ`}${problemHow}`);
    for (const d of t.differences) {
      const what = d.kind === 'missing' ? 'missing on target' : d.kind === 'extra' ? 'extra on target  ' : `different: ${d.columns!.join(', ')}`;
      out.line(`       ${what}  (${formatKey(d.key)})`);
    }
    const unlisted = t.differenceCount - t.differences.length;
    if (t.differences.length && unlisted > 0) out.line(`       ... and ${unlisted} more`);
  }
  const differing = r.tables.filter((t) => t.status === 'differs');
  const summary = `${r.tables.length} table${r.tables.length === 1 ? '' : 's'}, ${r.rows} rows compared (${r.mode}) in ${formatDuration(r.ms)}`;
  const unsettled = r.tables.filter((t) => t.status === 'unsettled').length;
  const deferred = r.tables.filter((t) => t.status === 'deferred').length;
  const notes = [
    ...(unsettled ? [`${unsettled} table${unsettled === 1 ? '' : 's'} still being written could not be settled`] : []),
    ...(deferred ? [`${deferred} table${deferred === 1 ? '' : 's'} replication does not carry ${deferred === 1 ? 'is' : 'are'} copied at switchover and compared after it`] : []),
  ];
  if (differing.length === 0) {
    out.line(out.paint(`identical: ${summary}`, 'green') + (notes.length ? ` (${notes.join('; ')})` : ''));
  } else {
    out.line(out.paint(`DIFFERENT: ${differing.length} of ${summary}`, 'red'));
    if (r.truncated) out.line('Only the first differences are listed; pass --limit N to list more.');
  }
}
