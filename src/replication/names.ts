// Deterministic names for what pgshift creates, so a re-run finds what
// exists instead of making a duplicate. Slot names may only hold [a-z0-9_]
// and 63 bytes, so a database name that is not already such a name is
// folded and suffixed with a short hash of the real name (two databases can
// never share a name).

import { createHash } from 'node:crypto';

const PREFIX = 'pgshift_';

function shortHash(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex').slice(0, 8);
}

/** pgshift_<db>, safe as a slot, publication and subscription name. */
export function baseName(database: string): string {
  const folded = database.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const plain = folded === database && PREFIX.length + folded.length <= 50;
  if (plain) return PREFIX + folded;
  return `${PREFIX}${folded.slice(0, 40)}_${shortHash(database)}`;
}

export interface MigrationNames {
  /** Publication on the source, subscription and slot for forward replication. */
  publication: string;
  subscription: string;
  slot: string;
  /** Reverse replication (target -> source) created at switchover. */
  reversePublication: string;
  reverseSubscription: string;
  reverseSlot: string;
}

export function namesFor(database: string): MigrationNames {
  const b = baseName(database);
  return {
    publication: b,
    subscription: b,
    slot: b,
    reversePublication: `${b}_rev`,
    reverseSubscription: `${b}_rev`,
    reverseSlot: `${b}_rev`,
  };
}

/** Every name pgshift creates starts with this; cleanup and check look for it. */
export const NAME_PREFIX = PREFIX;
