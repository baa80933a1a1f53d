// Step "roles": copy the source's roles, their attributes, password hashes,
// database-independent settings, comments and memberships to the target.
//
// Why the catalogs and not `pg_dumpall --roles-only`: the system pg_dumpall
// is one major version and refuses newer servers (sources 16-17), its script
// recreates the bootstrap superuser and fails on every role the target
// already has, and --managed / --no-passwords would mean editing its text.
// Reading pg_roles (and pg_authid when allowed) works on every version, lets
// each role be skipped, stripped and reported on its own, and every name
// goes through quoteIdent.
//
// Needs: a source role that can read pg_roles (pg_authid too for password
// hashes: a superuser); a target role with CREATEROLE (SUPERUSER to copy
// SUPERUSER/REPLICATION/BYPASSRLS roles, or use --managed).
//
// Idempotent: a role that exists on the target is never touched (reported as
// existing), a membership the target already has is not granted again, and
// everything runs in one transaction, so a failure leaves the target as it was.

import type { Config } from '../config/config.js';
import { silent, warning, type Emit } from '../events.js';
import { SqlError } from '../errors.js';
import { withDb, withTransaction, type Db } from '../pg/connect.js';
import { quoteIdent, quoteLiteral } from '../pg/quote.js';
import { sqlFile, sqlFor } from '../pg/sql.js';
import { quietSession, warnExposure } from '../pg/secret-statement.js';
import { featuresOf, type ServerVersion } from '../pg/version.js';
import { refuseUnsupportedVersions } from '../checks/preflight.js';

export interface RolesReport {
  /** Roles created on the target in this run. */
  created: string[];
  /** Source roles the target already had (left as they are). */
  skippedExisting: string[];
  /** The source's bootstrap superuser, never copied. */
  skippedBootstrap: string[];
  /** Login roles created without a password (--no-passwords, or hashes unreadable). */
  withoutPassword: string[];
  /** Per role, the attributes --managed removed. */
  strippedAttributes: Record<string, string[]>;
  /** Memberships granted in this run. */
  memberships: number;
  /** Settings (ALTER ROLE ... SET) the target refused, as "role: name". */
  skippedSettings?: string[];
  /** Memberships that could not be granted because a role is missing on the target. */
  skippedMemberships?: string[];
  /** --managed: memberships in roles the target role may not grant (no ADMIN OPTION, e.g. pg_signal_backend). */
  ungrantableMemberships?: string[];
}

export interface CopyRolesOptions {
  /** Do not copy password hashes (providers that hide them). */
  noPasswords?: boolean;
  /** Strip the attributes managed services refuse. */
  managed?: boolean;
  emit?: Emit;
}

/** A role as read from the source catalogs. */
export interface SourceRole {
  name: string;
  bootstrap: boolean;
  predefined: boolean;
  superuser: boolean;
  inherit: boolean;
  createrole: boolean;
  createdb: boolean;
  login: boolean;
  replication: boolean;
  bypassrls: boolean;
  connlimit: number;
  validUntil: string | null;
  config: string[];
  comment: string | null;
  /** SCRAM/md5 verifier; undefined when not readable or not wanted. */
  password?: string;
}

export interface Membership {
  role: string;
  member: string;
  admin: boolean;
  inherit: boolean;
  set: boolean;
}

/** Attributes a managed service (RDS, Cloud SQL, Azure, ...) refuses to grant. */
export const MANAGED_REFUSED = ['SUPERUSER', 'REPLICATION', 'BYPASSRLS'] as const;

/** One statement to run on the target, and whether its failure is tolerated. */
export interface PlannedStatement {
  sql: string;
  /** The statement as it may be shown in an error: password verifiers masked. */
  display: string;
  /** Settings may name a parameter the target version no longer has: skipped with a warning. */
  optional?: { what: string };
}

export interface RolesPlan {
  statements: PlannedStatement[];
  report: RolesReport;
}

// Settings whose value is a list of separately quoted items (pg_dump's
// variable_is_guc_list_quote): one literal per item, or the list would become one item.
const LIST_QUOTE_SETTINGS = new Set([
  'local_preload_libraries', 'search_path', 'session_preload_libraries',
  'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories',
]);

/** Split a stored list setting ("a, \"B c\"") into its items, unquoting double-quoted ones. */
export function splitSettingList(value: string): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ' || value[i] === '\t') i++;
    let item = '';
    if (value[i] === '"') {
      i++;
      while (i < value.length) {
        if (value[i] === '"') {
          if (value[i + 1] === '"') {
            item += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        item += value[i++];
      }
      while (i < value.length && value[i] !== ',') i++;
    } else {
      while (i < value.length && value[i] !== ',') item += value[i++];
      item = item.trim();
    }
    items.push(item);
    if (value[i] === ',') i++;
  }
  return items;
}

/** One stored "name=value" setting (rolconfig, setconfig) as `name TO value` SQL. */
export function settingAssignmentSql(entry: string): string {
  const eq = entry.indexOf('=');
  const name = eq < 0 ? entry : entry.slice(0, eq);
  const value = eq < 0 ? '' : entry.slice(eq + 1);
  const valueSql = LIST_QUOTE_SETTINGS.has(name.toLowerCase())
    ? splitSettingList(value).map(quoteLiteral).join(', ')
    : quoteLiteral(value);
  return `${quoteIdent(name)} TO ${valueSql}`;
}

/** ALTER ROLE ... SET for one "name=value" entry of pg_roles.rolconfig. */
export function roleSettingSql(role: string, entry: string): string {
  return `ALTER ROLE ${quoteIdent(role)} SET ${settingAssignmentSql(entry)}`;
}

/** CREATE ROLE with every attribute spelled out (defaults differ between versions of nothing, but explicit reads better). */
export function createRoleSql(r: SourceRole, stripped: readonly string[], redactPassword = false): string {
  const keep = (attr: string, on: boolean): string => (on && !stripped.includes(attr) ? attr : `NO${attr}`);
  const parts = [
    keep('SUPERUSER', r.superuser),
    r.inherit ? 'INHERIT' : 'NOINHERIT',
    keep('CREATEROLE', r.createrole),
    keep('CREATEDB', r.createdb),
    r.login ? 'LOGIN' : 'NOLOGIN',
    keep('REPLICATION', r.replication),
    keep('BYPASSRLS', r.bypassrls),
  ];
  if (r.connlimit !== -1) parts.push(`CONNECTION LIMIT ${Number(r.connlimit)}`);
  // CREATE ROLE takes no bound parameters: the verifier and the date are literals.
  if (r.password !== undefined) parts.push(`PASSWORD ${redactPassword ? quoteLiteral('********') : quoteLiteral(r.password)}`);
  if (r.validUntil !== null) parts.push(`VALID UNTIL ${quoteLiteral(r.validUntil)}`);
  const attributesSql = parts.join(' ');
  return `CREATE ROLE ${quoteIdent(r.name)} WITH ${attributesSql}`;
}

export function grantRoleSql(m: Membership, withOptions: boolean): string {
  const onOff = (b: boolean): string => (b ? 'TRUE' : 'FALSE');
  const optionsSql = withOptions
    ? ` WITH ADMIN ${onOff(m.admin)}, INHERIT ${onOff(m.inherit)}, SET ${onOff(m.set)}`
    : m.admin ? ' WITH ADMIN OPTION' : '';
  return `GRANT ${quoteIdent(m.role)} TO ${quoteIdent(m.member)}${optionsSql}`;
}

/**
 * Decide what to run on the target: pure, so the rules (what is skipped,
 * stripped, granted) are tested without a server.
 */
export function planRoles(input: {
  roles: SourceRole[];
  memberships: Membership[];
  targetRoles: ReadonlySet<string>;
  targetMemberships: ReadonlySet<string>;
  managed: boolean;
  grantOptions: boolean;
  /** Target roles the connecting role may not grant (no ADMIN OPTION): skipped under --managed. */
  ungrantable?: ReadonlySet<string>;
}): RolesPlan {
  const report: RolesReport = {
    created: [], skippedExisting: [], skippedBootstrap: [], withoutPassword: [],
    strippedAttributes: {}, memberships: 0, skippedSettings: [], skippedMemberships: [], ungrantableMemberships: [],
  };
  const statements: PlannedStatement[] = [];
  const bootstrap = new Set(input.roles.filter((r) => r.bootstrap).map((r) => r.name));
  for (const r of input.roles) {
    if (r.predefined) continue;
    if (r.bootstrap) {
      report.skippedBootstrap.push(r.name);
      continue;
    }
    if (input.targetRoles.has(r.name)) {
      report.skippedExisting.push(r.name);
      continue;
    }
    const stripped = input.managed
      ? MANAGED_REFUSED.filter((a) => (a === 'SUPERUSER' ? r.superuser : a === 'REPLICATION' ? r.replication : r.bypassrls))
      : [];
    if (stripped.length) report.strippedAttributes[r.name] = [...stripped];
    if (r.login && r.password === undefined) report.withoutPassword.push(r.name);
    statements.push({ sql: createRoleSql(r, stripped), display: createRoleSql(r, stripped, true) });
    for (const entry of r.config) {
      const sql = roleSettingSql(r.name, entry);
      statements.push({ sql, display: sql, optional: { what: `${r.name}: ${entry.split('=')[0]}` } });
    }
    if (r.comment !== null) {
      const sql = `COMMENT ON ROLE ${quoteIdent(r.name)} IS ${quoteLiteral(r.comment)}`;
      statements.push({ sql, display: sql });
    }
    report.created.push(r.name);
  }
  const willExist = new Set([...input.targetRoles, ...report.created]);
  for (const m of input.memberships) {
    // The bootstrap superuser needs no memberships, and may not even share its name with the target's.
    if (bootstrap.has(m.member) || bootstrap.has(m.role)) continue;
    if (input.targetMemberships.has(membershipKey(m))) continue;
    if (!willExist.has(m.role) || !willExist.has(m.member)) {
      report.skippedMemberships!.push(`${m.role} -> ${m.member}`);
      continue;
    }
    // A managed service keeps its predefined roles (pg_signal_backend, pg_monitor, ...) to its own admin.
    if (input.managed && input.ungrantable?.has(m.role)) {
      report.ungrantableMemberships!.push(`${m.role} -> ${m.member}`);
      continue;
    }
    const sql = grantRoleSql(m, input.grantOptions);
    statements.push({ sql, display: sql });
    report.memberships++;
  }
  return { statements, report };
}

export function membershipKey(m: { role: string; member: string }): string {
  return JSON.stringify([m.role, m.member]);
}

async function readSourceRoles(db: Db, wantPasswords: boolean, emit: Emit): Promise<{ roles: SourceRole[]; memberships: Membership[] }> {
  const rows = await db.query<Record<string, unknown>>(sqlFile('roles'));
  const roles: SourceRole[] = rows.map((r) => ({
    name: r.name as string,
    bootstrap: r.bootstrap as boolean,
    predefined: r.predefined as boolean,
    superuser: r.superuser as boolean,
    inherit: r.inherit as boolean,
    createrole: r.createrole as boolean,
    createdb: r.createdb as boolean,
    login: r.login as boolean,
    replication: r.replication as boolean,
    bypassrls: r.bypassrls as boolean,
    connlimit: Number(r.connlimit),
    validUntil: (r.valid_until as string | null) ?? null,
    config: (r.config as string[] | null) ?? [],
    comment: (r.comment as string | null) ?? null,
  }));
  if (wantPasswords) {
    const canRead = await db.one<{ ok: boolean }>("SELECT pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT') AS ok");
    if (canRead.ok) {
      const hashes = new Map((await db.query<{ name: string; password: string }>(sqlFile('roles-passwords'))).map((p) => [p.name, p.password]));
      for (const r of roles) {
        const h = hashes.get(r.name);
        if (h !== undefined) r.password = h;
      }
    } else {
      emit(warning('password_hashes_unreadable', 'the source role cannot read pg_authid, so password hashes cannot be copied; login roles are created without a password', 'set them on the target, or connect to the source as a superuser'));
    }
  }
  const memberships = await db.query<Record<string, unknown>>(sqlFor('roles-members', db.version));
  return {
    roles,
    memberships: memberships.map((m) => ({
      role: m.role as string, member: m.member as string, admin: m.admin as boolean, inherit: m.inherit as boolean, set: m.set as boolean,
    })),
  };
}

async function readTarget(db: Db): Promise<{ roles: Set<string>; memberships: Set<string>; ungrantable: Set<string> }> {
  const roles = await db.query<{ name: string; grantable: boolean }>(sqlFile('roles-target'), [!featuresOf(db.version).grantRoleOptions]);
  const members = await db.query<{ role: string; member: string }>(
    `SELECT r.rolname AS role, m.rolname AS member
       FROM pg_catalog.pg_auth_members a
       JOIN pg_catalog.pg_roles r ON r.oid = a.roleid
       JOIN pg_catalog.pg_roles m ON m.oid = a.member`);
  return {
    roles: new Set(roles.map((r) => r.name)),
    memberships: new Set(members.map(membershipKey)),
    ungrantable: new Set(roles.filter((r) => !r.grantable).map((r) => r.name)),
  };
}

/** Copy roles and memberships from source to target (see the file header). */
export async function copyRoles(config: Config, opts: CopyRolesOptions = {}): Promise<RolesReport> {
  const emit = opts.emit ?? silent;
  const started = Date.now();
  emit({ type: 'step', step: 'roles', state: 'start' });
  let sourceVersion: ServerVersion | undefined;
  const source = await withDb('source', config.source, {}, (db) => {
    sourceVersion = db.version;
    return readSourceRoles(db, !opts.noPasswords, emit);
  });
  try {
    const report = await withDb('target', config.target, {}, async (db) => {
      refuseUnsupportedVersions(sourceVersion!, db.version);
      const target = await readTarget(db);
      const plan = planRoles({
        roles: source.roles,
        memberships: source.memberships,
        targetRoles: target.roles,
        targetMemberships: target.memberships,
        managed: opts.managed ?? false,
        grantOptions: featuresOf(db.version).grantRoleOptions,
        ungrantable: target.ungrantable,
      });
      if (plan.statements.length === 0) return plan.report;
      await withTransaction(db, async () => {
        // 16+: a non-superuser CREATEROLE role gets only ADMIN on the roles it
        // creates; schema (OWNER TO, CREATE DATABASE ... OWNER) and the apply
        // worker (SET ROLE to each table's owner) need SET and INHERIT too.
        if (featuresOf(db.version).createroleSelfGrant) await db.query("SELECT pg_catalog.set_config('createrole_self_grant', 'set, inherit', true)");
        // Password verifiers are not passwords, but an offline attack on one
        // needs nothing else: keep them out of the target's log too.
        if (plan.statements.some((s) => s.display !== s.sql)) {
          warnExposure(await quietSession(db, { local: true }), 'target', 'CREATE ROLE ... PASSWORD (a password verifier)', emit);
        }
        for (const s of plan.statements) {
          if (!s.optional) {
            await runRoleStatement(db, s, opts.managed ?? false);
            continue;
          }
          await db.query('SAVEPOINT pgshift_role_setting');
          try {
            await db.query(s.sql);
            await db.query('RELEASE SAVEPOINT pgshift_role_setting');
          } catch (e) {
            await db.query('ROLLBACK TO SAVEPOINT pgshift_role_setting');
            plan.report.skippedSettings!.push(s.optional.what);
            emit(warning('role_setting_not_copied', `role setting not copied (${s.optional.what}): ${(e as Error).message}`));
          }
        }
      });
      return plan.report;
    });
    const parts = [`${report.created.length} created`, `${report.skippedExisting.length} already on the target`, `${report.memberships} memberships`];
    emit({ type: 'step', step: 'roles', state: report.created.length || report.memberships ? 'done' : 'skip', ms: Date.now() - started, message: parts.join(', ') });
    return report;
  } catch (e) {
    emit({ type: 'step', step: 'roles', state: 'fail', message: (e as Error).message });
    throw e;
  }
}

async function runRoleStatement(db: Db, s: PlannedStatement, managed: boolean): Promise<void> {
  try {
    await db.query(s.sql);
  } catch (e) {
    if (!(e instanceof SqlError)) throw e;
    // Rebuilt so the error carries the masked statement, never a password verifier.
    const hint = e.sqlstate === '42501' && !managed && s.sql.startsWith('GRANT ')
      ? 'The target role may not grant this membership (it needs ADMIN OPTION on the granted role; a managed service keeps pg_* roles such as pg_signal_backend to itself): re-run with --managed to skip such memberships (they are listed), or connect to the target as a superuser. Nothing was changed.'
      : e.sqlstate === '42501' && !managed
      ? 'The target role may not grant SUPERUSER, REPLICATION or BYPASSRLS (a managed service?): re-run with --managed to strip them, or connect to the target as a superuser. Nothing was changed.'
      : e.hint ?? 'Nothing was changed on the target (the roles step runs in one transaction); fix the cause and re-run.';
    throw new SqlError(`${e.message} (in: ${s.display.slice(0, 200)})`, { sqlstate: e.sqlstate, detail: e.serverDetail, hint: e.serverHint, statement: s.display, side: 'target' }, {
      cause: e.cause, hint,
    });
  }
}
