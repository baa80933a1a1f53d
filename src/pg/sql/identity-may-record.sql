-- May the connecting role keep pgshift.replica_identity in the current
-- (maintenance) database: own it, or create it (CREATE on the schema pgshift,
-- or on the database when that schema does not exist yet)?
-- No parameters. One row: may_record, role
SELECT current_user::text AS role,
       CASE
         WHEN pg_catalog.to_regclass('pgshift.replica_identity') IS NOT NULL
           THEN pg_catalog.pg_has_role(current_user, (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass('pgshift.replica_identity')), 'USAGE')
         WHEN pg_catalog.to_regnamespace('pgshift') IS NOT NULL
           THEN pg_catalog.has_schema_privilege('pgshift', 'CREATE') AND pg_catalog.has_schema_privilege('pgshift', 'USAGE')
         ELSE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')
       END AS may_record;
