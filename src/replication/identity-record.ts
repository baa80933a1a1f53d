// The replica identities pgshift changes, recorded on the cluster so that
// `cleanup` can put each table's original back, on both sides, from any
// process or machine (issue 11: REPLICA IDENTITY FULL left behind on 464
// tables means extra WAL on every UPDATE and DELETE of the new primary for
// good).
//
// Where: pgshift.replica_identity in the maintenance database of the side
// (beside the fence record, src/switchover/state.ts), one row per table,
// written BEFORE the ALTER TABLE: a run killed in between leaves a record of a
// table still in its original state, which restoring then leaves alone.
// A table recorded already keeps its first original (a re-run sees pgshift's
// own FULL and must not take it for the user's).
// Restore: only a table whose identity is still what pgshift set; one the
// user changed since is left as it is and reported. Each table in its own
// short transaction with a lock timeout (ALTER TABLE takes an ACCESS
// EXCLUSIVE lock), so one busy table does not hold back the others, and its
// record is deleted with the restore. The record table (and the pgshift
// schema, when nothing else of pgshift's is in it) is dropped once empty.

import type { Config } from '../config/config.js';
import { connect, maintenanceDb, type Db, type Side } from '../pg/connect.js';
import { qualify, quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { ProblemError } from '../errors.js';

export type Replident = 'd' | 'n' | 'f' | 'i';

/** What pgshift sets: FULL, or USING INDEX. */
export type IdentitySetting = { kind: 'full' } | { kind: 'index'; index: string };

/** An identity in the words of ALTER TABLE ... REPLICA IDENTITY. */
export function identityText(replident: string, index: string | null | undefined): string {
  if (replident === 'f') return 'FULL';
  if (replident === 'n') return 'NOTHING';
  if (replident === 'i') return `USING INDEX ${index ?? '?'}`;
  return 'DEFAULT';
}

function identitySql(replident: string, index: string | null | undefined): string {
  if (replident === 'f') return 'FULL';
  if (replident === 'n') return 'NOTHING';
  if (replident === 'i' && index) return `USING INDEX ${quoteIdent(index)}`;
  return 'DEFAULT';
}

/** The record table's DDL has run on this maintenance-database session. */
let ensured = new WeakSet<Db>();

/**
 * Sets replica identities on one side and records each change first. The
 * maintenance-database session is opened on the first change, so a run
 * that changes nothing needs no access there.
 */
export class IdentityChanges {
  private admin: Db | undefined;
  readonly changed: { table: string; from: string; to: string }[] = [];

  constructor(private readonly config: Config, readonly side: Side, private readonly db: Db) {}

  private async adminDb(): Promise<Db> {
    if (!this.admin) {
      const ep = this.side === 'source' ? this.config.source : this.config.target;
      this.admin = await connect(this.side, ep, { database: maintenanceDb(this.config, this.side, this.db.database), applicationName: 'pgshift' });
      await this.admin.query('SET default_transaction_read_only = off');
    }
    if (!ensured.has(this.admin)) {
      await this.admin.query(sqlFile('identity-record-table'));
      ensured.add(this.admin);
    }
    return this.admin;
  }

  /** ALTER TABLE ... REPLICA IDENTITY, recorded first; nothing when the table already has it. */
  async set(table: { schema: string; name: string }, to: IdentitySetting): Promise<void> {
    const tableSql = qualify(table.schema, table.name);
    const now = await this.db.maybeOne<{ datoid: string; relid: string; schema: string; name: string; replident: Replident; index_name: string | null }>(
      sqlFile('identity-current'), [tableSql]);
    if (!now) return;
    const setTo = to.kind === 'full' ? 'f' : 'i';
    const setIndex = to.kind === 'index' ? to.index : null;
    if (now.replident === setTo && (setTo === 'f' || now.index_name === setIndex)) return;
    const admin = await this.adminDb();
    await admin.query(sqlFile('identity-record-insert'), [
      this.db.database, now.datoid, now.relid, now.schema, now.name, now.replident, now.index_name, setTo, setIndex,
    ]);
    await this.db.query(`ALTER TABLE ${tableSql} REPLICA IDENTITY ${identitySql(setTo, setIndex)}`);
    this.changed.push({ table: `${now.schema}.${now.name}`, from: identityText(now.replident, now.index_name), to: identityText(setTo, setIndex) });
  }

  async close(): Promise<void> {
    await this.admin?.close();
    this.admin = undefined;
  }
}

/**
 * Refuse, before anything changes, when identities are to be set on this side
 * but its role may not keep the record in the maintenance database.
 */
export async function refuseUnrecordable(config: Config, side: Side, database: string): Promise<void> {
  const ep = side === 'source' ? config.source : config.target;
  const maint = maintenanceDb(config, side, database);
  const admin = await connect(side, ep, { database: maint, applicationName: 'pgshift' });
  try {
    const r = await admin.one<{ role: string; may_record: boolean }>(sqlFile('identity-may-record'));
    if (r.may_record) return;
    throw new ProblemError('missing_privileges', `cannot start replication of "${database}": the ${side} role ${r.role} may not keep pgshift's record of the replica identities it sets (pgshift.replica_identity in database ${maint}), so cleanup could not restore them`, {
      // sql-lint: safe (advice for the user, not SQL pgshift runs)
      hint: `GRANT CREATE ON DATABASE ${quoteIdent(maint)} TO ${quoteIdent(r.role)} on the ${side} (a switchover needs it there too, for its fence record), or connect as a superuser. Nothing was changed.`,
    });
  } finally {
    await admin.close();
  }
}

export interface RestoredIdentities {
  side: Side;
  /** Tables put back to the identity they had before pgshift. */
  restored: { table: string; from: string; to: string }[];
  /** Tables left as they are, and why (the user changed the identity since; the table is gone; a lock timed out). */
  kept: { table: string; identity: string; reason: string }[];
}

type RecordRow = {
  datoid: string; relid: string; schema_name: string; table_name: string;
  original: Replident; original_index: string | null; set_to: Replident; set_index: string | null;
};

/**
 * Put back every recorded identity of `database` on this side. `admin`: a
 * session on the side's maintenance database; `db`: one on the migrated
 * database. Run after the side's publication is gone (a table without a key
 * going back to DEFAULT while still published would refuse UPDATE and DELETE).
 */
export async function restoreReplicaIdentities(admin: Db, db: Db): Promise<RestoredIdentities> {
  const out: RestoredIdentities = { side: db.side, restored: [], kept: [] };
  const exists = await admin.one<{ t: string | null }>("SELECT pg_catalog.to_regclass('pgshift.replica_identity')::text AS t");
  if (!exists.t) return out;
  const records = await admin.query<RecordRow>(
    'SELECT datoid::text, relid::text, schema_name, table_name, original, original_index, set_to, set_index FROM pgshift.replica_identity WHERE database = $1 ORDER BY schema_name, table_name',
    [db.database]);
  if (records.length === 0) return out;
  const { oid: datoid } = await admin.one<{ oid: string }>('SELECT oid::text FROM pg_catalog.pg_database WHERE datname = $1', [db.database]);
  const forget = (r: RecordRow) => admin.query('DELETE FROM pgshift.replica_identity WHERE database = $1 AND relid = $2', [db.database, r.relid]);
  const live = records.filter((r) => r.datoid === datoid);
  // Records of an earlier database of this name (dropped and made again): their tables are gone.
  for (const r of records) if (r.datoid !== datoid) await forget(r);
  const now = new Map((await db.query<{ relid: string; schema: string; name: string; replident: Replident; index_name: string | null; indexes: string[] }>(
    sqlFile('identity-current-by-oid'), [live.map((r) => r.relid)])).map((t) => [t.relid, t]));
  await db.query("SET lock_timeout = '10s'");
  for (const r of live) {
    const t = now.get(r.relid);
    const recordedAs = `${r.schema_name}.${r.table_name}`;
    if (!t) {
      await forget(r);
      continue;
    }
    const name = `${t.schema}.${t.name}`;
    const current = identityText(t.replident, t.index_name);
    const original = identityText(r.original, r.original_index);
    if (t.replident === r.original && (r.original !== 'i' || t.index_name === r.original_index)) {
      // Never changed (a run stopped between record and ALTER), or already put back.
      await forget(r);
      continue;
    }
    if (!(t.replident === r.set_to && (r.set_to !== 'i' || t.index_name === r.set_index))) {
      out.kept.push({ table: name, identity: current, reason: `changed since pgshift set ${identityText(r.set_to, r.set_index)} (originally ${original}); left as it is` });
      await forget(r);
      continue;
    }
    // An original identity index dropped since cannot be used again: DEFAULT is the nearest.
    const back = r.original === 'i' && !(r.original_index && t.indexes.includes(r.original_index)) ? 'd' : r.original;
    try {
      await db.query(`ALTER TABLE ${qualify(t.schema, t.name)} REPLICA IDENTITY ${identitySql(back, r.original_index)}`);
    } catch (e) {
      out.kept.push({ table: name, identity: current, reason: `could not be restored to ${original}: ${(e as Error).message}; run cleanup again` });
      continue;
    }
    await forget(r);
    out.restored.push({ table: name === recordedAs ? name : `${name} (recorded as ${recordedAs})`, from: current, to: identityText(back, r.original_index) });
  }
  await db.query('RESET lock_timeout');
  await dropEmptyRecord(admin);
  return out;
}

async function dropEmptyRecord(admin: Db): Promise<void> {
  const left = await admin.one<{ n: number }>('SELECT count(*)::int AS n FROM pgshift.replica_identity');
  if (left.n > 0) return;
  await admin.query('DROP TABLE pgshift.replica_identity');
  // The schema is shared with the fence record: dropped only when nothing of pgshift's is left in it.
  await admin.query("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift') THEN DROP SCHEMA IF EXISTS pgshift; END IF; END $$");
  ensured = new WeakSet<Db>();
}
