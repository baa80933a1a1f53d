// What a non-superuser needs for a switchover or rollback, checked in its
// preflight, before anything is created or paused: a run that would fail
// half-way (a revoke that silently revokes nothing, a fence record it cannot
// write, a reverse subscription PostgreSQL refuses) stops here instead, with
// the missing privilege named in the hint. Superusers and a provider's admin
// roles (rds_superuser, ...) pass. Read-only.

import type { PauseMethod } from '../config/config.js';
import type { Db, Side } from '../pg/connect.js';
import { quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { featuresOf } from '../pg/version.js';
import { PROVIDER_ADMIN_ROLES } from '../pg/provider.js';

interface SidePrivileges {
  role: string;
  superuser: boolean;
  provider_admin: boolean;
  replication: boolean;
  create_subscription: boolean;
  owns_database: boolean;
  database_owner: string;
  may_signal: boolean;
  may_see_sessions: boolean;
  may_create_in_database: boolean;
  may_record: boolean;
}

async function privilegesOf(admin: Db, database: string, ownerIfMissing: string | undefined): Promise<SidePrivileges> {
  return admin.one<SidePrivileges & Record<string, unknown>>(sqlFile('switchover-privileges'), [database, PROVIDER_ADMIN_ROLES, ownerIfMissing ?? null]);
}

/** One side of the run: its maintenance-database connection. */
export interface PrivilegeSide {
  side: Side;
  admin: Db;
  /** Who will own the database if it does not exist yet (check runs before schema); default: the connecting role. */
  ownerIfMissing?: string;
}

export interface PrivilegeGap {
  problem: string;
  fix: string;
}

/**
 * The privileges the run lacks. `fenced`/`other`: maintenance-database
 * connections of the side whose writes are paused and of the other side;
 * `reverse`: a switchover that starts reverse replication (the source
 * subscribes to a publication and slot on the target).
 */
export async function switchoverPrivilegeGaps(opts: {
  database: string;
  method: PauseMethod;
  fenced: PrivilegeSide;
  other: PrivilegeSide;
  reverse: boolean;
}): Promise<PrivilegeGap[]> {
  const { database, method } = opts;
  const gaps: PrivilegeGap[] = [];
  const sides = await Promise.all([opts.fenced, opts.other].map(async (s) => ({ ...s, p: await privilegesOf(s.admin, database, s.ownerIfMissing) })));
  const [fenced, other] = sides as [typeof sides[0], typeof sides[0]];
  const on = (side: Side): string => `on the ${side}`;
  for (const s of sides) {
    if (s.p.superuser || s.p.provider_admin) continue;
    const isFenced = s === fenced;
    // revoke gives CONNECT back on the other side at resume, so both sides need owner rights.
    if ((method === 'revoke' || (method === 'readonly' && isFenced)) && !s.p.owns_database) {
      gaps.push({
        problem: `${s.side} role ${s.p.role} is not the owner of database ${database} (owner: ${s.p.database_owner}), so the ${method} fence could not ${method === 'revoke' ? 'revoke or give back CONNECT' : 'make it read-only'}`,
        // sql-lint: safe (advice for people, not SQL pgshift runs)
        fix: `GRANT ${quoteIdent(s.p.database_owner)} TO ${quoteIdent(s.p.role)} ${on(s.side)} (or ALTER DATABASE ${quoteIdent(database)} OWNER TO ${quoteIdent(s.p.role)})`,
      });
    }
    if (!isFenced) continue;
    if ((method === 'revoke' || method === 'readonly') && !s.p.may_signal) {
      gaps.push({
        problem: `${s.side} role ${s.p.role} may not end other roles' sessions (the ${method} fence terminates them)`,
        // sql-lint: safe (advice for people, not SQL pgshift runs)
        fix: `GRANT pg_signal_backend TO ${quoteIdent(s.p.role)} ${on(s.side)}`,
      });
    }
    // Without it pg_stat_activity hides other roles' backend_type, state and
    // query: the fence proof could not see a session still writing.
    if (!s.p.may_see_sessions) {
      gaps.push({
        problem: `${s.side} role ${s.p.role} cannot see other roles' sessions (pg_stat_activity hides their state), so the fence could not prove that writes stopped`,
        // sql-lint: safe (advice for people, not SQL pgshift runs)
        fix: `GRANT pg_read_all_stats TO ${quoteIdent(s.p.role)} ${on(s.side)}`,
      });
    }
    if (!s.p.may_record) {
      const maint = s.admin.database;
      gaps.push({
        problem: `${s.side} role ${s.p.role} may not create pgshift's fence record (schema pgshift) in database ${maint}`,
        // sql-lint: safe (advice for people, not SQL pgshift runs)
        fix: `GRANT CREATE ON DATABASE ${quoteIdent(maint)} TO ${quoteIdent(s.p.role)} ${on(s.side)}, or set the dbname of ${s.side}.conn to a database where it may create a schema`,
      });
    }
  }
  if (opts.reverse) {
    // Reverse replication: the source subscribes, the target publishes and keeps the slot.
    const sub = fenced.side === 'source' ? fenced : other;
    const pub = fenced.side === 'source' ? other : fenced;
    if (!sub.p.superuser && !sub.p.provider_admin) {
      const predefined = featuresOf(sub.admin.version).predefinedCreateSubscription;
      if (!predefined) {
        gaps.push({
          problem: `reverse replication needs a subscription on the source, and on PostgreSQL ${sub.admin.version.major} only a superuser may create one (source role ${sub.p.role} is not)`,
          fix: 'pass --no-reverse (or set switchover.reverse: false; no rollback is possible then), or connect to the source as a superuser',
        });
      } else {
        if (!sub.p.create_subscription) gaps.push({ problem: `source role ${sub.p.role} may not create the reverse subscription`, fix: `GRANT pg_create_subscription TO ${quoteIdent(sub.p.role)} on the source, or pass --no-reverse` });
        // sql-lint: safe (advice for people, not SQL pgshift runs)
        if (!sub.p.may_create_in_database) gaps.push({ problem: `source role ${sub.p.role} may not CREATE in database ${database} (the reverse subscription needs it)`, fix: `GRANT CREATE ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(sub.p.role)} on the source` });
      }
    }
    if (!pub.p.superuser && !pub.p.provider_admin) {
      if (!pub.p.replication) gaps.push({ problem: `target role ${pub.p.role} has no REPLICATION attribute (the reverse slot needs it)`, fix: `ALTER ROLE ${quoteIdent(pub.p.role)} REPLICATION on the target (rds_replication on RDS), or pass --no-reverse` });
      // sql-lint: safe (advice for people, not SQL pgshift runs)
      if (!pub.p.may_create_in_database) gaps.push({ problem: `target role ${pub.p.role} may not CREATE in database ${database} (the reverse publication needs it)`, fix: `GRANT CREATE ON DATABASE ${quoteIdent(database)} TO ${quoteIdent(pub.p.role)} on the target` });
    }
  }
  return gaps;
}
