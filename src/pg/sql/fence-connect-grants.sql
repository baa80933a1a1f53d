-- Who may CONNECT to a database, from its ACL (or the default ACL when it
-- has none): the list a revoke fence takes away and later gives back.
-- $1::text : database name
-- One row per grantee: grantee (NULL for PUBLIC), grantable
SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE r.rolname::text END AS grantee,
       a.is_grantable AS grantable
  FROM pg_catalog.pg_database d
 CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(d.datacl, pg_catalog.acldefault('d', d.datdba))) a
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
 WHERE d.datname = $1
   AND a.privilege_type = 'CONNECT'
 ORDER BY 1 NULLS FIRST;
