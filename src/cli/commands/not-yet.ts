// Placeholder for a command whose implementation has not landed yet: says so
// plainly (exit 2) instead of pretending to work.

import type { Command } from '../command.js';
import { UsageError } from '../../errors.js';

export function notYet(name: string, usage: string, summary: string): Command {
  return {
    name,
    usage,
    summary: `${summary} (not implemented yet)`,
    options: {},
    async run() {
      throw new UsageError(`"pgshift ${name}" is not implemented in this version yet`);
    },
  };
}
