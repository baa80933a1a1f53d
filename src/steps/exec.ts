// exec: run a user's command with the connection parameters of both
// clusters in its environment (PGSHIFT_SOURCE_HOST, ..._PASSWORD, and the
// same for TARGET), after verifying both clusters are the configured ones.
// The password travels in the environment only, never in an argument list.

import { spawn } from 'node:child_process';
import type { Config } from '../config/config.js';
import { connect } from '../pg/connect.js';
import { UsageError } from '../errors.js';
import { endpointEnv } from '../pg/child-env.js';

export async function verifiedEnv(config: Config): Promise<Record<string, string>> {
  const dbs = await Promise.all([connect('source', config.source), connect('target', config.target)]);
  await Promise.all(dbs.map((d) => d.close()));
  return { ...endpointEnv('source', config.source), ...endpointEnv('target', config.target) };
}

/** Run argv[0] with argv[1..] (no shell) and the verified environment; resolves to its exit code. */
export async function execWithEnv(config: Config, argv: string[]): Promise<number> {
  if (argv.length === 0) throw new UsageError('exec needs a command: pgshift exec -- CMD [ARG...]');
  const env = { ...process.env, ...(await verifiedEnv(config)) };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'inherit' });
    child.on('error', (e) => reject(new UsageError(`cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
