// Hosted PostgreSQL services (RDS, Azure, Cloud SQL, AlloyDB) give their admin
// users a role of their own instead of superuser; pgshift treats membership
// in one of these like superuser when it decides what a role may do.

/** Roles hosted PostgreSQL services give their admin users instead of superuser. */
export const PROVIDER_ADMIN_ROLES = ['rds_superuser', 'azure_pg_admin', 'cloudsqlsuperuser', 'alloydbsuperuser'];
