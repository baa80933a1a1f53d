import type { Command } from '../command.js';
import { flagString } from '../command.js';
import { initConfig } from '../../steps/init.js';
import { EXIT, UsageError } from '../../errors.js';
import { parseLibpqConninfo, ConninfoSyntaxError } from '../../config/conninfo.js';

export const command: Command = {
  name: 'init',
  usage: 'init --source CONN --target CONN [-o pgshift.yml] [--force]',
  summary: 'write a config with both system identifiers filled in',
  positionals: false,
  flags: {
    source: { type: 'string', value: 'CONN', description: 'the source cluster: a libpq key=value string or postgres:// URI (service= works)' },
    target: { type: 'string', value: 'CONN', description: 'the target cluster, in the same form' },
    output: { type: 'string', short: 'o', value: 'FILE', description: 'where to write the config', default: 'the -c file, else pgshift.yml' },
    force: { type: 'boolean', description: 'overwrite an existing file' },
  },
  async run(ctx) {
    const source = flagString(ctx, 'source');
    const target = flagString(ctx, 'target');
    if (!source || !target) throw new UsageError('init needs --source CONN and --target CONN (libpq key=value strings or postgres:// URIs)');
    for (const [flag, text] of [['--source', source], ['--target', target]] as const) {
      try {
        ctx.out.addSecret(parseLibpqConninfo(text).password);
      } catch (e) {
        if (e instanceof ConninfoSyntaxError) throw new UsageError(`${flag}: not a valid connection string: ${e.message}`);
        throw e;
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
