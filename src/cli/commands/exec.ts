import type { Command } from '../command.js';
import { execWithEnv } from '../../steps/exec.js';
import type { ExitCode } from '../../errors.js';

export const command: Command = {
  name: 'exec',
  usage: 'exec -- CMD [ARG...]',
  summary: 'run CMD with verified PGSHIFT_SOURCE_*/PGSHIFT_TARGET_* connection variables',
  args: [['CMD [ARG...]', 'the program to run (no shell), after "--"']],
  async run(ctx) {
    // The child's own exit status is passed through unchanged.
    return (await execWithEnv(ctx.config(), ctx.args)) as ExitCode;
  },
};
