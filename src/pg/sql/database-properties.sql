-- What a database carries besides its schema, as pg_dump --create restores
-- it: owner, connection limit, comment, privileges (GRANT ... ON DATABASE)
-- and settings (ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET).
-- Run on either cluster (pg_database and pg_db_role_setting are shared).
-- $1::text : database name
-- One row, or none when the database does not exist:
--   owner        : owning role
--   connlimit    : datconnlimit (-1: no limit)
--   comment      : COMMENT ON DATABASE, or NULL
--   acl_default  : datacl is NULL (the built-in default privileges)
--   acl          : json array of {grantee (NULL: PUBLIC), privilege (CREATE | TEMPORARY | CONNECT), grantable}
--                  of the effective privileges (the default ones when acl_default)
--   settings     : json array of {role (NULL: every role), setting ("name=value")}, in stored order
SELECT pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       d.datconnlimit AS connlimit,
       pg_catalog.shobj_description(d.oid, 'pg_database') AS comment,
       d.datacl IS NULL AS acl_default,
       (SELECT coalesce(json_agg(json_build_object(
                  'grantee', CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee) END,
                  'privilege', a.privilege_type, 'grantable', a.is_grantable)
                ORDER BY a.grantee, a.privilege_type), '[]'::json)
          FROM pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) a) AS acl,
       (SELECT coalesce(json_agg(json_build_object(
                  'role', CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole) END,
                  'setting', c.setting)
                ORDER BY s.setrole, c.n), '[]'::json)
          FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) WITH ORDINALITY AS c(setting, n)
         WHERE s.setdatabase = d.oid) AS settings
  FROM pg_catalog.pg_database d
 WHERE d.datname = $1;
