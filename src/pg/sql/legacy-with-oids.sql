-- Tables WITH OIDS, on a source older than 12 (relhasoids is gone from 12,
-- which has no such tables). pg_dump 12+ dumps them without the oid column
-- (a warning, no error), so whatever reads that column stops working on
-- the target.
-- No parameters.
-- One row per table: schema, name (unquoted)
SELECT n.nspname AS schema, c.relname AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relhasoids
   AND c.relkind IN ('r', 'p', 'f', 'm')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
 ORDER BY 1, 2;
