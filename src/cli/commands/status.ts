import type { Command, CommandContext } from '../command.js';
import { flagDuration, flagInt } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { selectDatabases } from '../../config/config.js';
import { StatusProbe } from '../../status/probe.js';
import { formatBytes } from '../../util/duration.js';
import { sleep } from '../../util/wait.js';
import { METRICS_FLAG } from '../observe.js';
import { type DatabaseStatus } from '../../status/model.js';
import { sampleOf } from '../../status/derive.js';

/** Each problem: what is wrong, then what to do (as check shows a finding's fix). */
function renderProblems(ctx: CommandContext, s: DatabaseStatus): void {
  const out = ctx.out;
  for (const p of s.problems) {
    out.line(`  ${out.severity('warn')} ${p.message}`);
    if (p.fix) out.line(`       ${out.paint('fix:', 'cyan')} ${p.fix}`);
  }
}

/** After a switchover: writes go to the target, and the rollback path is the reverse replication. */
function renderSwitchedOver(ctx: CommandContext, s: DatabaseStatus): void {
  const out = ctx.out;
  const r = s.reverse;
  let reverse: string;
  if (!r || (!r.subscriptionExists && !r.slotExists)) {
    reverse = 'no reverse replication (switched over with --no-reverse, or cleaned up): no rollback';
  } else {
    const broken = r.columnProblems.length > 0 || r.enabled !== true || r.applyWorkerPid === null || r.walStatus === 'lost' || r.invalidationReason !== null;
    const health = broken ? out.paint('BROKEN (see below)', 'red') : out.paint('streaming', 'green');
    const lag = r.lagBytes === null ? 'lag unknown' : `lag ${formatBytes(r.lagBytes)}`;
    const slot = r.slotExists ? `slot ${r.slot} on the target ${r.active ? 'active' : 'inactive'}${r.walStatus ? ` (${r.walStatus})` : ''}` : `no slot ${r.slot} on the target`;
    reverse = `reverse replication target -> source ${health}, ${lag}, ${slot}`;
  }
  out.line(`${out.paint(s.database, 'bold')}: switched over, writes go to the target; ${reverse}`);
  if (r?.lastError) out.line(`  last reverse error (source log): ${r.lastError}`);
  renderProblems(ctx, s);
}

function render(ctx: CommandContext, s: DatabaseStatus): void {
  const out = ctx.out;
  if (s.phase === 'switched over') {
    renderSwitchedOver(ctx, s);
    return;
  }
  const lag = s.lagBytes === null ? 'lag unknown' : `lag ${formatBytes(s.lagBytes)}${s.lagSeconds !== null ? ` (${s.lagSeconds.toFixed(1)}s)` : ''}`;
  const slot = s.slot.exists ? `slot ${s.slot.active ? 'active' : 'inactive'}${s.slot.walStatus ? ` (${s.slot.walStatus})` : ''}, WAL retained ${formatBytes(s.walRetainedBytes ?? 0)}` : 'no slot';
  const way = s.replication ? `replication ${s.replication}${s.rolledBack ? ' (again, since a rollback: writes go to the source)' : ''}, ` : '';
  out.line(`${out.paint(s.database, 'bold')}: ${s.phase}, ${way}${s.tablesReady}/${s.tablesTotal} tables ready, ${lag}, ${slot}`);
  if (s.errors.apply !== null) out.line(`  errors: apply ${s.errors.apply}, sync ${s.errors.sync}`);
  if (s.errors.last) out.line(`  last error: ${s.errors.last}`);
  renderProblems(ctx, s);
  if (s.tables.length === 0) return;
  const width = Math.min(60, Math.max(...s.tables.map((t) => `${t.schema}.${t.name}`.length)));
  for (const t of s.tables) {
    const name = `${t.schema}.${t.name}`.padEnd(width);
    const state = t.state === 'ready' ? out.paint(t.state.padEnd(8), 'green') : out.paint(t.state.padEnd(8), 'yellow');
    const copied = t.copy
      ? `${t.copy.rows} rows, ${formatBytes(t.copy.bytes)} copied`
      : t.state === 'ready' || t.state === 'syncing' || t.state === 'copied' ? formatBytes(t.targetBytes) : t.state === 'copying' ? `${formatBytes(t.targetBytes)} of ~${formatBytes(t.sourceBytes ?? 0)}` : '';
    out.line(`  ${name}  ${state}  ${copied}`);
  }
}

export const command: Command = {
  name: 'status',
  usage: 'status [DB...] [--watch] [--interval D] [--count N] [--metrics HOST:PORT]',
  summary: 'per-table sync state, lag, slot health, errors (exit 1 when something needs attention)',
  args: [['DB...', 'databases to show (default: every database in the config)']],
  flags: {
    watch: { type: 'boolean', description: 'keep looking (redrawn on a terminal; NDJSON with --json)' },
    interval: { type: 'string', value: 'D', description: 'time between looks with --watch', default: '2s' },
    count: { type: 'string', value: 'N', description: 'stop --watch after N looks', default: 'until interrupted' },
    metrics: { ...METRICS_FLAG, description: `with --watch: ${METRICS_FLAG.description}` },
  },
  async run(ctx) {
    const config = ctx.config();
    const dbs = selectDatabases(config, ctx.args);
    const watch = ctx.flags.watch === true;
    const interval = flagDuration(ctx, 'interval') ?? 2000;
    const count = flagInt(ctx, 'count');
    if (ctx.flags.metrics !== undefined && !watch) throw new UsageError('--metrics goes with --watch (one look is over before a scrape)');
    const probes = dbs.map((d) => new StatusProbe(config, d.name));
    try {
      let n = 0;
      while (true) {
        const statuses: DatabaseStatus[] = [];
        for (const p of probes) statuses.push(await p.look());
        for (const s of statuses) ctx.out.observe({ type: 'status', data: sampleOf(s) });
        n++;
        if (ctx.json) {
          ctx.out.writeJson({ databases: statuses });
        } else {
          // On a terminal --watch redraws in place; elsewhere each look is appended.
          if (watch && ctx.out.tty) ctx.out.line('\x1b[H\x1b[2J' + new Date().toISOString());
          for (const s of statuses) render(ctx, s);
        }
        const healthy = statuses.every((s) => s.problems.length === 0);
        if (!watch || (count !== undefined && n >= count)) return healthy ? EXIT.ok : EXIT.problem;
        await sleep(interval, ctx.signal);
        if (ctx.signal.aborted) return EXIT.ok;
      }
    } finally {
      await Promise.all(probes.map((p) => p.close()));
    }
  },
};
