// Step "verify": compare the data of one database on both sides, as the
// config describes it. verifyDatabase (src/verify) works on two endpoints;
// this adds what the config and the clusters know: the tables the config
// leaves out, and the tables replication does not carry in the current
// direction (copied at switchover, or after one at rollback), which are
// reported as such instead of compared while they cannot match.

import type { Config } from '../config/config.js';
import { databaseConfig } from '../config/config.js';
import { connect } from '../pg/connect.js';
import { verifyDatabase, type VerifyOptions, type VerifyReport } from '../verify/index.js';
import { planReverse } from '../switchover/reverse.js';
import { namesFor } from '../replication/names.js';
import { tablesReplicationCannotCarry } from './start.js';

/** verifyDatabase's options less those the config and the clusters decide. */
export type VerifyStepOptions = Omit<VerifyOptions, 'source' | 'target' | 'database' | 'exclude' | 'copiedAtSwitchover' | 'copiedAtRollback'>;

/**
 * After a switchover (the reverse slot exists on the target): the target
 * tables reverse replication does not carry, which a rollback copies.
 * Before it: none.
 */
async function tablesReverseCannotCarry(config: Config, database: string): Promise<{ schema: string; name: string }[]> {
  const target = await connect('target', config.target, { database });
  try {
    const slot = await target.maybeOne('SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1 AND database = current_database()', [namesFor(database).reverseSlot]);
    if (!slot) return [];
    const source = await connect('source', config.source, { database });
    try {
      return (await planReverse(config, database, source, target)).notCarried;
    } finally {
      await source.close();
    }
  } finally {
    await target.close();
  }
}

export async function verify(config: Config, database: string, opts: VerifyStepOptions = {}): Promise<VerifyReport> {
  const db = databaseConfig(config, database);
  return verifyDatabase({
    ...opts,
    source: config.source,
    target: config.target,
    database,
    exclude: db.exclude,
    copiedAtSwitchover: await tablesReplicationCannotCarry(config, database),
    copiedAtRollback: await tablesReverseCannotCarry(config, database),
  });
}
