import type { Command } from '../command.js';
import { DB_ARG, namedDatabases, oneDatabase } from '../command.js';
import { cleanup } from '../../steps/cleanup.js';
import { EXIT } from '../../errors.js';
import { DRY_RUN_FLAG, dryRunEmit, isDryRun, planJson, printPlan } from '../dry-run.js';
import { DryRun } from '../../pg/dry-run.js';

export const command: Command = {
  name: 'cleanup',
  usage: 'cleanup DB [--dry-run]',
  summary: 'drop every publication, subscription and slot pgshift made, on both sides; put back the replica identities it set',
  args: [DB_ARG],
  // A dry run changes nothing: no lock, no confirmation.
  locks: (ctx) => (isDryRun(ctx) ? [] : namedDatabases(ctx)),
  flags: { 'dry-run': DRY_RUN_FLAG },
  async run(ctx) {
    const database = oneDatabase(ctx, 'cleanup');
    const config = ctx.config();
    if (isDryRun(ctx)) {
      const plan = new DryRun();
      const r = await cleanup(config, database, { emit: dryRunEmit(ctx), dryRun: plan });
      if (ctx.json) {
        ctx.out.writeJson({ ok: true, dryRun: true, changed: false, ...r, statements: planJson(plan) });
        return EXIT.ok;
      }
      const notes: string[] = [];
      if (plan.statements.length === 0) notes.push(`nothing of pgshift's was left for ${database} on the reachable side(s)`);
      for (const f of r.fences) notes.push(`note: the ${f.side} database ${database} stays fenced (${f.method}) after cleanup; to lift it: ${f.sql.join(' ')}`);
      for (const l of r.left) notes.push(`would be left on the ${l.side} (${l.reason}): ${l.objects.join('; ')}`);
      printPlan(ctx, `cleanup ${database}`, plan, notes);
      return EXIT.ok;
    }
    if (!(await ctx.confirm(`Drop pgshift's replication objects for ${database} on both sides? Replication for it stops for good.`))) return EXIT.problem;
    const r = await cleanup(config, database, { emit: (e) => ctx.out.event(e) });
    const clean = r.left.length === 0;
    if (ctx.json) {
      ctx.out.writeJson({ ok: clean, ...r });
      return clean ? EXIT.ok : EXIT.problem;
    }
    for (const d of r.dropped) ctx.out.line(`dropped on the ${d.side}: ${d.object}`);
    for (const ids of r.identities) {
      // Grouped by change ("FULL -> DEFAULT"), a few tables named: the corpus had 464 of them.
      const groups = new Map<string, string[]>();
      for (const x of ids.restored) {
        const key = `${x.from.replace(/^USING INDEX .*/, 'USING INDEX')} -> ${x.to.replace(/^USING INDEX .*/, 'USING INDEX')}`;
        groups.set(key, [...(groups.get(key) ?? []), x.table]);
      }
      for (const [change, tables] of groups) {
        ctx.out.line(`replica identity put back on the ${ids.side}: ${tables.length} table(s) ${change} (as before pgshift): ${tables.slice(0, 5).join(', ')}${tables.length > 5 ? ` +${tables.length - 5} more` : ''}`);
      }
      for (const k of ids.kept) ctx.out.line(`replica identity of ${k.table} on the ${ids.side} is ${k.identity}: ${k.reason}`);
    }
    if (r.dropped.length === 0 && r.identities.length === 0) ctx.out.line(`nothing of pgshift's was left for ${database} on the reachable side(s)`);
    for (const f of r.fences) {
      ctx.out.line(`note: the ${f.side} database ${database} is still fenced (${f.method}) from the switchover; to lift it: ${f.sql.join(' ')}`);
    }
    for (const l of r.left) {
      ctx.out.line(ctx.out.paint(`left on the ${l.side}`, 'yellow') + ` (${l.reason}):`);
      for (const o of l.objects) ctx.out.line(`  - ${o}`);
      ctx.out.line(`  remove it later, connected to database ${database} on the ${l.side}:`);
      for (const s of l.sql) ctx.out.line(`    ${s}`);
    }
    return clean ? EXIT.ok : EXIT.problem;
  },
};
