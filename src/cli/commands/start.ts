import type { Command } from '../command.js';
import { flagString, oneDatabase } from '../command.js';
import { EXIT, UsageError } from '../../errors.js';
import { startReplication, type CopyMode } from '../../steps/start.js';

export const command: Command = {
  name: 'start',
  usage: 'start DB [--copy native|fast]',
  summary: 'publication on the source, subscription on the target; the initial copy begins',
  options: { copy: { type: 'string' } },
  async run(ctx) {
    const database = oneDatabase(ctx, 'start');
    const copy = flagString(ctx, 'copy') ?? 'native';
    if (copy !== 'native' && copy !== 'fast') throw new UsageError(`--copy: expected native or fast, found "${copy}"`);
    const r = await startReplication(ctx.config(), database, { copy: copy as CopyMode, emit: (e) => ctx.out.event(e), signal: ctx.signal });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
      return EXIT.ok;
    }
    ctx.out.line(`publication ${r.publication.name} on the source: ${r.publication.action} (${r.publication.tables} tables)`);
    ctx.out.line(`subscription ${r.subscription.name} on the target: ${r.subscription.action}${r.subscription.options.length ? ` (${r.subscription.options.join(', ')})` : ''}`);
    if (r.notCarried.length) ctx.out.line(`${r.notCarried.length} table(s) not replicated; switchover copies them while writes are paused`);
    ctx.out.line(`Next: pgshift -c ${ctx.configPath} wait ${database}   (or: status ${database} --watch)`);
    return EXIT.ok;
  },
};
