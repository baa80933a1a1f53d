-- Role memberships (GRANT role TO member). From 16 one membership may have
-- several grantors and carries INHERIT and SET options.
-- Grantors are not kept: on the target every grant comes from the role running pgshift.
-- No parameters.
--   role, member : unquoted role names
--   admin        : WITH ADMIN OPTION (any grantor)
--   inherit, set : WITH INHERIT / WITH SET (any grantor; always true before 16)
SELECT r.rolname AS role, m.rolname AS member,
       bool_or(a.admin_option) AS admin,
--#if grantRoleOptions
       bool_or(a.inherit_option) AS inherit,
       bool_or(a.set_option) AS set
--#else
-- Before 16 there are no per-grant INHERIT and SET options: always true.
--|       true AS inherit,
--|       true AS set
--#end
  FROM pg_catalog.pg_auth_members a
  JOIN pg_catalog.pg_roles r ON r.oid = a.roleid
  JOIN pg_catalog.pg_roles m ON m.oid = a.member
 GROUP BY r.rolname, m.rolname
 ORDER BY 1, 2;
