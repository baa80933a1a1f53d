import type { Command, CommandContext } from '../command.js';
import { flagInt, flagString } from '../command.js';
import { writeFileSync } from 'node:fs';
import { DEMO_DATABASE, runDemo, type DemoResult } from '../../demo/demo.js';
import { CommandJournal, FileSink, journalFile, MemorySink } from '../../journal/journal.js';
import { buildReport, formatForFile, renderReport } from '../../report/index.js';
import { UsageError } from '../../errors.js';
import { ensureServerBinaries } from '../../embedded/binaries.js';
import { EXIT } from '../../errors.js';
import { SUPPORTED_SOURCE_MAJORS, SUPPORTED_TARGET_MAJORS } from '../../pg/version.js';
import { formatDuration } from '../../util/duration.js';
import type { Output } from '../output.js';
import { version } from '../version.js';
import { errorFor } from '../failure.js';

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
  usage: 'demo [--from 13] [--to 17] [--scale N] [--clients N] [--keep] [--report FILE.md|FILE.html]',
  summary: 'the whole flow on two embedded clusters under a write load, with a timeline',
  positionals: false,
  flags: {
    from: { type: 'string', value: 'MAJOR', description: 'PostgreSQL major version of the source cluster', default: '13' },
    to: { type: 'string', value: 'MAJOR', description: 'PostgreSQL major version of the target cluster', default: '17' },
    scale: { type: 'string', value: 'N', description: 'sample data size; 1 is about 300,000 rows', default: '1' },
    clients: { type: 'string', value: 'N', description: 'write-load clients during the flow', default: '4' },
    keep: { type: 'boolean', description: 'leave the clusters (and PgBouncer) running and print how to connect' },
    report: { type: 'string', value: 'FILE', description: 'write the rehearsal report of the demo here (.md or .html), from its journal' },
  },
  async run(ctx) {
    const from = flagInt(ctx, 'from', SUPPORTED_SOURCE_MAJORS.min) ?? 13;
    const to = flagInt(ctx, 'to', SUPPORTED_TARGET_MAJORS.min) ?? 17;
    const reportFile = flagString(ctx, 'report');
    const format = reportFile === undefined ? undefined : formatForFile(reportFile);
    if (reportFile !== undefined && !format) throw new UsageError(`--report ${reportFile}: the report is Markdown (.md) or HTML (.html); the file name says which`);
    // The demo's journal: the report is made from it, as "pgshift report" makes one from a real migration's.
    const sink = new MemorySink();
    const journal = new CommandJournal({
      command: 'demo', version: version(), args: [], flags: Object.fromEntries(Object.entries(ctx.flags).filter(([, v]) => typeof v === 'string' || typeof v === 'boolean')) as Record<string, string | boolean>,
      databases: () => [DEMO_DATABASE], sinkFor: () => sink, redact: (s) => ctx.out.redact(s),
    });
    const off = ctx.out.onEvent((e) => journal.event(e));
    let r: DemoResult;
    try {
      r = await demo(ctx, from, to);
      journal.end(EXIT.ok);
    } catch (e) {
      const err = errorFor(e);
      journal.end(err.exitCode, { code: err.code, message: err.message });
      throw e;
    } finally {
      off();
      if (reportFile && format) {
        writeFileSync(reportFile, renderReport(buildReport(DEMO_DATABASE, sink.records), format));
        if (!ctx.json) ctx.out.line(`wrote the demo's report to ${reportFile}`);
      }
    }
    if (r.kept) {
      // Kept clusters: "pgshift -c <config> report shop" works on them like on any migration.
      const keptJournal = new FileSink(journalFile(r.kept.config, DEMO_DATABASE), () => undefined);
      for (const rec of sink.records) keptJournal.write(rec);
      keptJournal.close();
    }
    if (ctx.json) ctx.out.writeJson(r);
    else render(ctx.out, r);
    return EXIT.ok;
  },
};

async function demo(ctx: CommandContext, from: number, to: number): Promise<DemoResult> {
  // An installed pgshift brings no server binaries: the first demo installs the two it needs.
  await ensureServerBinaries([from, to], { emit: (e) => ctx.out.event(e), signal: ctx.signal });
  return runDemo({
    from,
    to,
    scale: flagInt(ctx, 'scale', 1),
    clients: flagInt(ctx, 'clients', 1),
    keep: ctx.flags.keep === true,
    emit: (e) => ctx.out.event(e),
    signal: ctx.signal,
  });
}
