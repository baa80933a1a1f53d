import { type Command } from '../command.js';
import type { Output } from '../output.js';
import { runCheck, type CheckReport, type Finding } from '../../steps/check.js';
import { EXIT } from '../../errors.js';

/** "a, b, c +7 more": long object lists stay on one line. */
export function formatObjects(objects: string[], max = 5): string {
  if (objects.length <= max) return objects.join(', ');
  return `${objects.slice(0, max).join(', ')} +${objects.length - max} more`;
}

export function summaryLine(report: CheckReport): string {
  const count = (s: Finding['severity']): number => report.findings.filter((f) => f.severity === s).length;
  const fails = count('fail');
  const warns = count('warn');
  const verdict = fails
    ? 'not ready: fix the FAIL lines and run pgshift check again'
    : warns ? 'ready, read the warnings' : 'ready';
  return `${fails} fail, ${warns} warn, ${count('ok')} ok: ${verdict}`;
}

/** The human report: clusters first, then each database, one block per finding. */
export function renderCheck(report: CheckReport, out: Output): void {
  const cluster = (name: string, c: CheckReport['source']): string =>
    `${name}  PostgreSQL ${c.version}  system_identifier ${c.systemIdentifier}  role ${c.role}`;
  out.line(cluster('source', report.source));
  out.line(cluster('target', report.target));
  const groups = new Map<string, Finding[]>();
  for (const f of report.findings) {
    const key = f.database === undefined ? '' : f.database;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const indent = ' '.repeat(2 + 4 + 2 + 6 + 2);
  for (const [db, findings] of groups) {
    out.line();
    out.line(out.paint(db === '' ? 'clusters' : `database ${db}`, 'bold'));
    for (const f of findings) {
      out.line(`  ${out.severity(f.severity)}  ${f.side.padEnd(6)}  ${f.title}`);
      if (f.objects.length) out.line(`${indent}${formatObjects(f.objects)}`);
      if (f.fix && f.severity !== 'ok') out.line(`${indent}${out.paint('fix:', 'cyan')} ${f.fix}`);
    }
  }
  out.line();
  out.line(summaryLine(report));
}

export const command: Command = {
  name: 'check',
  usage: 'check [DB...]',
  summary: 'readiness report; exit 1 on a blocking finding',
  args: [['DB...', 'databases to check (default: every database in the config)']],
  async run(ctx) {
    const config = ctx.config();
    // Its step events are rendered with --json only; the journal hears them always.
    const report = await runCheck(config, ctx.args, { emit: (e) => (ctx.json ? ctx.out.event(e) : ctx.out.observe(e)) });
    if (ctx.json) ctx.out.writeJson(report);
    else renderCheck(report, ctx.out);
    return report.ok ? EXIT.ok : EXIT.problem;
  },
};
