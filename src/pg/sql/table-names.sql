-- Ordinary and partitioned tables of the current database by name, outside
-- the system schemas and pgshift's own: the tables.sql filter without its
-- per-table sizes and lookups, for "which of these tables does the target
-- have" (start's refusals, schema drift: status runs it every 10 s).
-- No parameters.
-- One row per table: schema, name (unquoted)
SELECT n.nspname AS schema, c.relname AS name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
 ORDER BY 1, 2;
