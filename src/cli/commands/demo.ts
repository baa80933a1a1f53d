import type { Command } from '../command.js';
import { flagInt } from '../command.js';
import { runDemo, type DemoResult } from '../../embedded/demo.js';
import { ensureServerBinaries } from '../../embedded/binaries.js';
import { EXIT } from '../../errors.js';
import { SUPPORTED_SOURCE_MAJORS, SUPPORTED_TARGET_MAJORS } from '../../pg/version.js';
import { formatDuration } from '../../util/duration.js';
import type { Output } from '../output.js';

function render(out: Output, r: DemoResult): void {
  out.line('');
  out.line(out.paint(`pgshift demo: PostgreSQL ${r.from} -> ${r.to}, database "${r.database}", ${r.rows.toLocaleString('en-US')} rows, pause method ${r.pauseMethod}`, 'bold'));
  out.line('');
  out.line('  timeline');
  for (const p of r.timeline) out.line(`    ${p.phase.padEnd(44)} ${formatDuration(p.ms).padStart(8)}  ${p.detail ?? ''}`);
  out.line(`    ${'total'.padEnd(44)} ${formatDuration(r.totalMs).padStart(8)}`);
  out.line('');
  if (r.switchover.timeline) {
    out.line('  switchover phases (* = while writes were paused)');
    for (const p of r.switchover.timeline.phases ?? []) {
      out.line(`    ${(p.inPause ? "* " : "  ") + p.phase}`.padEnd(48) + ` ${formatDuration(p.ms).padStart(8)}${p.message ? `  ${p.message}` : ""}`);
    }
    out.line('');
  }
  out.line(`  write pause (measured by pgshift):  ${r.writePauseMs !== undefined ? `${Math.round(r.writePauseMs)} ms` : 'n/a'}`);
  out.line(`  longest client stall:               ${Math.round(r.load.longestStallMs)} ms (p99 latency ${Math.round(r.load.latencyMs.p99)} ms)`);
  out.line(`  client transactions:                ${r.load.transactions} acknowledged, ${out.paint(`${r.load.errors} failed`, r.load.errors ? 'red' : 'green')}`);
  out.line(`  verify (full):                      ${r.verify.identical ? out.paint('identical', 'green') : out.paint('DIFFERENT', 'red')} (${r.verify.tables} tables)`);
  out.line(`  load-check:                         ${r.loadCheck.ok ? out.paint(`all ${r.loadCheck.acknowledged} acknowledged writes on the target, exactly once`, 'green') : out.paint(`${r.loadCheck.missing} missing, ${r.loadCheck.duplicated} duplicated`, 'red')}`);
  if (r.kept) {
    out.line('');
    out.line('  kept running (--keep); connect with:');
    out.line(`    source (old primary, now the reverse replica): ${r.kept.source}`);
    out.line(`    target (new primary):                          ${r.kept.target}`);
    if (r.kept.pgbouncer) out.line(`    through PgBouncer:                             ${r.kept.pgbouncer}`);
    out.line(`    config: ${r.kept.config}`);
    out.line(`    remove with: pg_ctl -D <dir>/data stop, then rm -rf the cluster dirs under ${r.kept.dir} and /tmp/pgshift-embedded`);
  }
}

export const command: Command = {
  name: 'demo',
  usage: 'demo [--from 13] [--to 17] [--scale N] [--clients N] [--keep]',
  summary: 'the whole flow on two embedded clusters under a write load, with a timeline',
  positionals: false,
  flags: {
    from: { type: 'string', value: 'MAJOR', description: 'PostgreSQL major version of the source cluster', default: '13' },
    to: { type: 'string', value: 'MAJOR', description: 'PostgreSQL major version of the target cluster', default: '17' },
    scale: { type: 'string', value: 'N', description: 'sample data size; 1 is about 300,000 rows', default: '1' },
    clients: { type: 'string', value: 'N', description: 'write-load clients during the flow', default: '4' },
    keep: { type: 'boolean', description: 'leave the clusters (and PgBouncer) running and print how to connect' },
  },
  async run(ctx) {
    const from = flagInt(ctx, 'from', SUPPORTED_SOURCE_MAJORS.min) ?? 13;
    const to = flagInt(ctx, 'to', SUPPORTED_TARGET_MAJORS.min) ?? 17;
    // An installed pgshift brings no server binaries: the first demo installs the two it needs.
    await ensureServerBinaries([from, to], { emit: (e) => ctx.out.event(e), signal: ctx.signal });
    const r = await runDemo({
      from,
      to,
      scale: flagInt(ctx, 'scale', 1),
      clients: flagInt(ctx, 'clients', 1),
      keep: ctx.flags.keep === true,
      emit: (e) => ctx.out.event(e),
      signal: ctx.signal,
    });
    if (ctx.json) ctx.out.writeJson(r);
    else render(ctx.out, r);
    return EXIT.ok;
  },
};
