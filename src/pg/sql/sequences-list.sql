-- Every sequence of the current database a switchover must carry: owned
-- (serial), identity and standalone alike.
-- No parameters.
-- One row per sequence: schema, name (unquoted), kind ('identity', 'owned', 'standalone')
SELECT n.nspname AS schema,
       c.relname AS name,
       CASE WHEN d.deptype = 'i' THEN 'identity'
            WHEN d.deptype = 'a' THEN 'owned'
            ELSE 'standalone' END AS kind
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_depend d
         ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
 WHERE c.relkind = 'S'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND n.nspname NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                    WHERE e.classid = 'pg_catalog.pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
 ORDER BY 1, 2;
