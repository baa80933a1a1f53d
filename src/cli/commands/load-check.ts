import type { Command } from '../command.js';
import { DB_ARG, flagInt, flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { checkLedger } from '../../load/index.js';

export const command: Command = {
  name: 'load-check',
  usage: 'load-check DB --ledger FILE [--limit N]',
  summary: 'every acknowledged write of a load run is on the target, exactly once',
  args: [DB_ARG],
  flags: {
    ledger: { type: 'string', value: 'FILE', description: 'the ledger "pgshift load --ledger FILE" wrote (required)' },
    limit: { type: 'string', value: 'N', description: 'how many missing or duplicated ids to list', default: '20' },
  },
  async run(ctx) {
    const database = oneDatabase(ctx, 'load-check');
    const ledgerFile = flagString(ctx, 'ledger');
    if (!ledgerFile) throw new UsageError('load-check needs --ledger FILE (the file "pgshift load --ledger FILE" wrote)');
    const config = ctx.config();
    const r = await checkLedger({ target: config.target, database, ledgerFile, limit: flagInt(ctx, 'limit') });
    ctx.out.observe({ type: 'result', data: { kind: 'load-check', database, acknowledged: r.acknowledged, missing: r.missing, duplicated: r.duplicated, ok: r.ok } });
    if (ctx.json) {
      ctx.out.writeJson(r);
    } else {
      ctx.out.line(`${r.acknowledged} acknowledged writes in ${ledgerFile} (${r.runs.length} run${r.runs.length === 1 ? '' : 's'})`);
      if (r.missing) ctx.out.line(`${ctx.out.severity('fail')} ${r.missing} missing on the target: ${r.missingIds.join(', ')}${r.missing > r.missingIds.length ? ', ...' : ''}`);
      if (r.duplicated) ctx.out.line(`${ctx.out.severity('fail')} ${r.duplicated} on the target more than once: ${r.duplicatedIds.join(', ')}${r.duplicated > r.duplicatedIds.length ? ', ...' : ''}`);
      if (r.unacknowledged) ctx.out.line(`note: ${r.unacknowledged} committed on the target without the client hearing back (not in the file; expected when a connection broke during COMMIT)`);
      if (r.ok) ctx.out.line(`${ctx.out.severity('ok')} every acknowledged write is on the target exactly once`);
    }
    return r.ok ? EXIT.ok : EXIT.problem;
  },
};
