-- Roles of a cluster, as pgshift's roles step copies them. Readable by any
-- role (pg_roles, not pg_authid): password hashes come from roles-passwords.sql.
-- No parameters.
-- One row per role:
--   oid, name                     : role oid and unquoted name
--   bootstrap                     : the bootstrap superuser (oid 10), never copied
--   predefined                    : pg_* roles, which every cluster defines itself
--   superuser, inherit, createrole, createdb, login, replication, bypassrls : attributes
--   connlimit                     : -1 for no limit
--   valid_until                   : ISO 8601 text or 'infinity', NULL for none
--   config                        : database-independent ALTER ROLE ... SET settings, "name=value"
--   comment                       : COMMENT ON ROLE text
SELECT r.oid::int8 AS oid,
       r.rolname AS name,
       r.oid = 10 AS bootstrap,
       r.rolname ~ '^pg_' AS predefined,
       r.rolsuper AS superuser,
       r.rolinherit AS inherit,
       r.rolcreaterole AS createrole,
       r.rolcreatedb AS createdb,
       r.rolcanlogin AS login,
       r.rolreplication AS replication,
       r.rolbypassrls AS bypassrls,
       r.rolconnlimit AS connlimit,
       to_json(r.rolvaliduntil) #>> '{}' AS valid_until,
       r.rolconfig AS config,
       pg_catalog.shobj_description(r.oid, 'pg_authid') AS comment
  FROM pg_catalog.pg_roles r
 ORDER BY r.rolname;
