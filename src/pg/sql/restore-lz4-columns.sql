-- Columns of the current database stored with lz4 compression (ALTER TABLE
-- ... SET COMPRESSION lz4): pg_dump writes that setting, and a target built
-- without lz4 refuses it ("compression method lz4 not supported"). Sources
-- 14+ only (attcompression). Tables, partitioned tables, materialized views
-- and foreign tables; an index column only copies its table's setting.
-- No parameters.
--   schema, name : the relation (unquoted)
--   relkind      : 'r', 'p', 'm' or 'f'
--   column       : the column name
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, a.attname AS column
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attcompression = 'l'
   AND a.attnum > 0 AND NOT a.attisdropped
   AND c.relkind IN ('r', 'p', 'm', 'f')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
 ORDER BY 1, 2, 4;
