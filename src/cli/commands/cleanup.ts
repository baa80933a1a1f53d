import type { Command } from '../command.js';
import { DB_ARG, oneDatabase } from '../command.js';
import { cleanup } from '../../steps/cleanup.js';
import { EXIT } from '../../errors.js';

export const command: Command = {
  name: 'cleanup',
  usage: 'cleanup DB',
  summary: 'drop every publication, subscription and slot pgshift made, on both sides',
  args: [DB_ARG],
  async run(ctx) {
    const database = oneDatabase(ctx, 'cleanup');
    const config = ctx.config();
    if (!(await ctx.confirm(`Drop pgshift's replication objects for ${database} on both sides? Replication for it stops for good.`))) return EXIT.problem;
    const r = await cleanup(config, database, { emit: (e) => ctx.out.event(e) });
    const clean = r.left.length === 0;
    if (ctx.json) {
      ctx.out.writeJson({ ok: clean, ...r });
      return clean ? EXIT.ok : EXIT.problem;
    }
    for (const d of r.dropped) ctx.out.line(`dropped on the ${d.side}: ${d.object}`);
    if (r.dropped.length === 0) ctx.out.line(`nothing of pgshift's was left for ${database} on the reachable side(s)`);
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
