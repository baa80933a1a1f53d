// What a database carries besides its schema: its owner, connection limit,
// comment, privileges (GRANT ... ON DATABASE) and settings (ALTER DATABASE
// ... SET, ALTER ROLE ... IN DATABASE ... SET), which a schema-only dump
// leaves out and `pg_dump --create` restores.
//
// A target database pgshift creates gets them all: the statements go into
// the schema script, so they commit with the schema or not at all, and they
// take effect on connections opened afterwards (not on the script's own).
// A statement the target cannot take is left out with a warning that gives
// its SQL: a role it names that the target lacks ("pgshift roles" copies
// roles; run it first), a setting the target's version does not know, a
// value it does not accept (lz4 on a server built without it).
//
// A database pgshift did not create (an earlier run's, or one the user
// provisioned for `schema --existing`) is left as it is: its differences
// from the source's are reported, never overwritten.

import type { Db } from '../pg/connect.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { settingAssignmentSql } from './roles.js';

/** The privileges a database has (aclexplode's names). */
const DATABASE_PRIVILEGES = ['CREATE', 'TEMPORARY', 'CONNECT'] as const;

export type AclEntry = { grantee: string | null; privilege: string; grantable: boolean };
export type DbSetting = { role: string | null; setting: string };

export type DatabaseProperties = {
  owner: string;
  connlimit: number;
  comment: string | null;
  aclDefault: boolean;
  acl: AclEntry[];
  settings: DbSetting[];
};

export async function readDatabaseProperties(db: Db, database: string): Promise<DatabaseProperties | undefined> {
  const r = await db.maybeOne<{ owner: string; connlimit: number; comment: string | null; acl_default: boolean; acl: AclEntry[]; settings: DbSetting[] }>(
    sqlFile('database-properties'), [database]);
  if (!r) return undefined;
  return { owner: r.owner, connlimit: Number(r.connlimit), comment: r.comment, aclDefault: r.acl_default, acl: r.acl, settings: r.settings };
}

export interface DatabasePropertiesPlan {
  /** Statements for the schema script (empty when there is nothing to carry). */
  sql: string;
  /** What the source has that the target database will not get, each with its SQL. */
  skipped: string[];
}

function settingName(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

function settingValue(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? '' : entry.slice(eq + 1);
}

/** The statements giving a new target database the source's properties (see the file header). */
export async function planDatabaseProperties(src: DatabaseProperties, database: string, target: Db): Promise<DatabasePropertiesPlan> {
  const dbSql = quoteIdent(database);
  const roles = new Set((await target.query<{ name: string }>('SELECT rolname AS name FROM pg_catalog.pg_roles')).map((r) => r.name));
  const params = new Map((await target.query<{ name: string; vartype: string; enumvals: string[] | null }>(
    'SELECT name, vartype, enumvals FROM pg_catalog.pg_settings')).map((p) => [p.name.toLowerCase(), p]));
  const owner = (await target.one<{ owner: string }>(
    'SELECT pg_catalog.pg_get_userbyid(datdba) AS owner FROM pg_catalog.pg_database WHERE datname = $1', [database])).owner;
  const statements: string[] = [];
  const skipped: string[] = [];
  const missingRole = (role: string, sql: string): void => {
    skipped.push(`role "${role}" does not exist on the target (run "pgshift roles" first): ${sql}`);
  };

  // sql-lint: safe (a number)
  if (src.connlimit !== -1) statements.push(`ALTER DATABASE ${dbSql} CONNECTION LIMIT ${Number(src.connlimit)};`);
  if (src.comment !== null) statements.push(`COMMENT ON DATABASE ${dbSql} IS ${quoteLiteral(src.comment)};`);

  if (!src.aclDefault) {
    // Start from nothing, as pg_dump does from the owner's defaults, then grant what the source has.
    statements.push(`REVOKE ALL ON DATABASE ${dbSql} FROM PUBLIC;`);
    if (owner === src.owner) statements.push(`REVOKE ALL ON DATABASE ${dbSql} FROM ${quoteIdent(owner)};`);
    for (const a of src.acl) {
      const privilegeSql = DATABASE_PRIVILEGES.find((x) => x === a.privilege);
      if (!privilegeSql) continue;
      const granteeSql = a.grantee === null ? 'PUBLIC' : quoteIdent(a.grantee);
      const optionSql = a.grantable ? ' WITH GRANT OPTION' : '';
      const grantSql = `GRANT ${privilegeSql} ON DATABASE ${dbSql} TO ${granteeSql}${optionSql};`;
      if (a.grantee !== null && !roles.has(a.grantee)) missingRole(a.grantee, grantSql);
      else statements.push(grantSql);
    }
  }

  for (const s of src.settings) {
    const name = settingName(s.setting);
    const sql = s.role === null
      ? `ALTER DATABASE ${dbSql} SET ${settingAssignmentSql(s.setting)};`
      : `ALTER ROLE ${quoteIdent(s.role)} IN DATABASE ${dbSql} SET ${settingAssignmentSql(s.setting)};`;
    const p = params.get(name.toLowerCase());
    if (s.role !== null && !roles.has(s.role)) missingRole(s.role, sql);
    // A name with a dot is an extension's (a placeholder until the extension loads): any value goes.
    else if (!p && !name.includes('.')) skipped.push(`PostgreSQL on the target has no setting "${name}": ${sql}`);
    else if (p?.vartype === 'enum' && p.enumvals && !p.enumvals.includes(settingValue(s.setting))) {
      skipped.push(`the target does not accept ${name} = ${settingValue(s.setting)} (it takes ${p.enumvals.join(', ')}): ${sql}`);
    } else statements.push(sql);
  }
  const sql = statements.length
    ? ['', '-- pgshift: the database\'s own properties (pg_dump --create would restore them).', ...statements, ''].join('\n')
    : '';
  return { sql, skipped };
}

function aclKey(a: AclEntry): string {
  // sql-lint: safe (a label to compare and show, not SQL)
  return `${a.privilege} to ${a.grantee ?? 'PUBLIC'}${a.grantable ? ' WITH GRANT OPTION' : ''}`;
}

function settingKey(s: DbSetting): string {
  return s.role === null ? s.setting : `${s.setting} (role ${s.role})`;
}

/** How the target database differs from the source's, one line per difference; empty when alike. */
export function compareDatabaseProperties(src: DatabaseProperties, tgt: DatabaseProperties): string[] {
  const out: string[] = [];
  if (src.owner !== tgt.owner) out.push(`owner: ${src.owner} on the source, ${tgt.owner} on the target`);
  if (src.connlimit !== tgt.connlimit) out.push(`connection limit: ${src.connlimit} on the source, ${tgt.connlimit} on the target`);
  if (src.comment !== tgt.comment) out.push(`comment: ${src.comment === null ? 'none' : JSON.stringify(src.comment)} on the source, ${tgt.comment === null ? 'none' : JSON.stringify(tgt.comment)} on the target`);
  const diff = (what: string, a: string[], b: string[]): void => {
    const onlySource = a.filter((x) => !b.includes(x));
    const onlyTarget = b.filter((x) => !a.includes(x));
    if (onlySource.length) out.push(`${what} only on the source: ${onlySource.join(', ')}`);
    if (onlyTarget.length) out.push(`${what} only on the target: ${onlyTarget.join(', ')}`);
  };
  // The owner's own privileges follow the owner: compare them as "the owner's".
  const aclOf = (p: DatabaseProperties): string[] => p.acl.map((a) => aclKey(a.grantee === p.owner ? { ...a, grantee: '(owner)' } : a));
  diff('privileges', aclOf(src), aclOf(tgt));
  diff('settings', src.settings.map(settingKey), tgt.settings.map(settingKey));
  return out;
}
