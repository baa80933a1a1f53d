import type { Command } from '../command.js';
import { flagString } from '../command.js';
import { initConfig } from '../../steps/init.js';
import { EXIT, UsageError } from '../../errors.js';
import { parseConninfo } from '../../config/conninfo.js';

export const command: Command = {
  name: 'init',
  usage: 'init --source CONN --target CONN [-o pgshift.yml] [--force]',
  summary: 'write a config with both system identifiers filled in',
  positionals: false,
  options: {
    source: { type: 'string' },
    target: { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  },
  async run(ctx) {
    const source = flagString(ctx, 'source');
    const target = flagString(ctx, 'target');
    if (!source || !target) throw new UsageError('init needs --source CONN and --target CONN (libpq key=value strings or postgres:// URIs)');
    for (const text of [source, target]) {
      try {
        ctx.out.addSecret(parseConninfo(text).password);
      } catch {
        // reported by initConfig with the flag name
      }
    }
    const output = flagString(ctx, 'output') ?? ctx.configPath;
    const r = await initConfig({ source, target, output, force: ctx.flags.force === true });
    if (ctx.json) {
      ctx.out.writeJson({ ok: true, ...r });
    } else {
      ctx.out.line(`wrote ${r.file}`);
      ctx.out.line(`  source: PostgreSQL ${r.source.version}, system_identifier ${r.source.systemIdentifier}`);
      ctx.out.line(`  target: PostgreSQL ${r.target.version}, system_identifier ${r.target.systemIdentifier}`);
      ctx.out.line(`  databases: ${r.databases.length ? r.databases.join(', ') : '(none found; add them under "databases:")'}`);
      ctx.out.line(`Passwords are not written to the file: export ${r.passwordVars.join(' and ')} (or use PGPASSFILE).`);
      ctx.out.line(`Next: pgshift -c ${r.file} check`);
    }
    return EXIT.ok;
  },
};
