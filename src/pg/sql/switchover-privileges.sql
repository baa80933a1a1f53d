-- What the connecting role may do that a switchover needs, on one side:
-- fence the database (revoke/readonly: owner rights over it, and
-- pg_signal_backend to end other roles' sessions), keep the fence record in
-- the current (maintenance) database, and create the reverse subscription or
-- publication and slot. Run on a connection to the maintenance database.
-- $1::text   : the migrated database
-- $2::text[] : provider admin roles (rds_superuser, ...) that stand in for a superuser
-- $3::text   : for a database that does not exist yet (check before schema):
--              the role that will own it (pgshift schema gives it the source
--              owner when that role exists here, else the connecting role);
--              NULL means the connecting role
-- One row:
--   role, superuser, provider_admin, replication, create_subscription (member of pg_create_subscription, 16+)
--   owns_database   : a member (with inheritance) of the migrated database's owner
--   database_owner  : that owner's name
--   may_signal      : may terminate other roles' sessions (pg_signal_backend)
--   may_see_sessions: sees other roles' sessions' state in pg_stat_activity (pg_read_all_stats)
--   may_create_in_database : CREATE on the migrated database (publication, 16+ subscription)
--   may_record      : may create or write pgshift.switchover_fence in the maintenance database
SELECT r.rolname::text AS role,
       r.rolsuper AS superuser,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles p
                WHERE p.rolname = ANY ($2::text[]) AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')) AS provider_admin,
       r.rolreplication AS replication,
       EXISTS (SELECT 1 FROM pg_catalog.pg_roles p
                WHERE p.rolname = 'pg_create_subscription' AND pg_catalog.pg_has_role(r.oid, p.oid, 'USAGE')) AS create_subscription,
       pg_catalog.pg_has_role(r.oid, o.oid, 'USAGE') AS owns_database,
       o.rolname::text AS database_owner,
       pg_catalog.pg_has_role(r.oid, 'pg_signal_backend', 'USAGE') AS may_signal,
       pg_catalog.pg_has_role(r.oid, 'pg_read_all_stats', 'USAGE') AS may_see_sessions,
       CASE WHEN d.oid IS NULL THEN pg_catalog.pg_has_role(r.oid, o.oid, 'USAGE')
            ELSE pg_catalog.has_database_privilege(d.oid, 'CREATE') END AS may_create_in_database,
       CASE
         WHEN pg_catalog.to_regclass('pgshift.switchover_fence') IS NOT NULL
           THEN pg_catalog.pg_has_role(r.oid, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass('pgshift.switchover_fence')), 'USAGE')
         WHEN pg_catalog.to_regnamespace('pgshift') IS NOT NULL
           THEN pg_catalog.has_schema_privilege('pgshift', 'CREATE') AND pg_catalog.has_schema_privilege('pgshift', 'USAGE')
         ELSE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')
       END AS may_record
  FROM pg_catalog.pg_roles r
  LEFT JOIN pg_catalog.pg_database d ON d.datname = $1
  JOIN pg_catalog.pg_roles o
    ON o.oid = COALESCE(d.datdba, (SELECT p.oid FROM pg_catalog.pg_roles p WHERE p.rolname = $3::text), r.oid)
 WHERE r.rolname = current_user;
