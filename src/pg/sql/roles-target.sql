-- The target's roles, and whether the connecting role may grant membership
-- in each (so --managed can skip memberships a managed service keeps to its
-- own admin, such as pg_signal_backend or pg_monitor).
-- $1::boolean : CREATEROLE may grant any non-superuser role (before 16)
-- One row per role: name, grantable
SELECT r.rolname AS name,
       (me.rolsuper
        OR pg_catalog.pg_has_role(me.oid, r.oid, 'MEMBER WITH ADMIN OPTION')
        OR ($1 AND me.rolcreaterole AND NOT r.rolsuper)) AS grantable
  FROM pg_catalog.pg_roles r
 CROSS JOIN (SELECT oid, rolsuper, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = current_user) me;
