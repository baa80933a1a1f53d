-- The connecting role and what it may do, for `pgshift check`.
-- $1::text[] : names of roles whose membership matters (provider admin roles
--              such as rds_superuser, and predefined roles such as
--              pg_create_subscription); names that do not exist are ignored
-- One row:
--   rolname, rolsuper, rolreplication, rolcreaterole, rolcreatedb : of current_user
--   member_of : those of $1 that current_user is a member of (directly or not)
SELECT r.rolname,
       r.rolsuper,
       r.rolreplication,
       r.rolcreaterole,
       r.rolcreatedb,
       ARRAY(SELECT p.rolname::text
               FROM pg_catalog.pg_roles p
              WHERE p.rolname = ANY ($1::text[])
                AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER')
              ORDER BY 1) AS member_of
  FROM pg_catalog.pg_roles r
 WHERE r.rolname = current_user;
