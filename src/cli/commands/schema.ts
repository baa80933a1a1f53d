import type { Command, CommandContext } from '../command.js';
import { DB_ARG, namedDatabases, oneDatabase } from '../command.js';
import { applySchema } from '../../steps/schema.js';
import type { CompatReport } from '../../checks/schema-compat.js';
import { EXIT, PgshiftError } from '../../errors.js';

function renderCompat(ctx: CommandContext, report: CompatReport): void {
  ctx.out.line(`checked ${report.tables} replicated table(s): ${report.differences.length} difference(s)`);
  for (const d of report.differences) {
    const sev = d.verdict === 'incompatible' ? ctx.out.severity('fail') : d.verdict === 'warn' ? ctx.out.severity('warn') : ctx.out.severity('ok');
    const types = d.sourceType || d.targetType ? ` ${d.sourceType ?? '-'} -> ${d.targetType ?? '-'}` : '';
    ctx.out.line(`  ${sev} ${d.table}${d.column ? ` column ${JSON.stringify(d.column)}` : ''}${types}: ${d.reason}`);
  }
  if (report.typesDiffer) ctx.out.line('  note: column types differ between the sides, so the subscription must not use binary transfer');
}

export const command: Command = {
  name: 'schema',
  usage: 'schema DB [--existing]',
  summary: 'copy the schema (extensions included), or check a pre-provisioned one with --existing',
  args: [DB_ARG],
  locks: (ctx) => (ctx.flags.existing === true ? [] : namedDatabases(ctx)),
  flags: {
    existing: { type: 'boolean', description: 'apply nothing: check a schema you provisioned on the target for compatibility' },
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'schema');
    const config = ctx.config();
    const existing = ctx.flags.existing === true;
    let report;
    try {
      report = await applySchema(config, database, { existing, emit: (e) => ctx.out.event(e), signal: ctx.signal });
    } catch (e) {
      // An incompatible target: show every difference before the error itself.
      const compat = e instanceof PgshiftError ? (e.details?.compatibility as CompatReport | undefined) : undefined;
      if (compat && !ctx.json) renderCompat(ctx, compat);
      throw e;
    }
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...report });
      return EXIT.ok;
    }
    if (report.compatibility) {
      renderCompat(ctx, report.compatibility);
      ctx.out.line(`the target schema of "${database}" is compatible; next: pgshift start ${database}`);
      return EXIT.ok;
    }
    if (report.alreadyDone) ctx.out.line(`the target database "${database}" already has the source schema; nothing to do`);
    else ctx.out.line(`${report.created ? 'created the database and ' : ''}applied the source schema to "${database}" on the target`);
    if (report.extensions.length) ctx.out.line(`extensions: ${report.extensions.join(', ')}`);
    ctx.out.line(`next: pgshift start ${database}`);
    return EXIT.ok;
  },
};
