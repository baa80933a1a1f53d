-- Role memberships (GRANT role TO member), PostgreSQL 12-15.
-- No parameters.
--   role, member : unquoted role names
--   admin        : WITH ADMIN OPTION
--   inherit, set : always true before 16 (the per-grant options did not exist)
SELECT r.rolname AS role, m.rolname AS member,
       bool_or(a.admin_option) AS admin,
       true AS inherit,
       true AS set
  FROM pg_catalog.pg_auth_members a
  JOIN pg_catalog.pg_roles r ON r.oid = a.roleid
  JOIN pg_catalog.pg_roles m ON m.oid = a.member
 GROUP BY r.rolname, m.rolname
 ORDER BY 1, 2;
