// Hosted PostgreSQL services (RDS, Azure, Cloud SQL, AlloyDB) give their admin
// users a role of their own instead of superuser; pgshift treats membership
// in one of these like superuser when it decides what a role may do.

/** Roles hosted PostgreSQL services give their admin users instead of superuser. */
export const PROVIDER_ADMIN_ROLES = ['rds_superuser', 'azure_pg_admin', 'cloudsqlsuperuser', 'alloydbsuperuser'];

/** Roles check and preflight ask membership of (check-role.sql): the admin roles, RDS's replication role, pg_create_subscription (16+). */
export const ROLES_OF_INTEREST = [...PROVIDER_ADMIN_ROLES, 'rds_replication', 'pg_create_subscription'];

/** A superuser, or a member of a provider's admin role: needs no privilege checked one by one. */
export function actsAsSuperuser(r: { rolsuper: boolean; member_of: string[] }): boolean {
  return r.rolsuper || PROVIDER_ADMIN_ROLES.some((p) => r.member_of.includes(p));
}
