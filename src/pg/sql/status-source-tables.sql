-- Tables a publication carries, with their size on the source (summed over
-- partitions for a partitioned root published through the root).
--   $1::text : publication name
-- One row per published table: schema, name, bytes
SELECT pt.schemaname AS schema,
       pt.tablename AS name,
--#if partitionTreeFunctions
       CASE WHEN c.relkind = 'p'
            THEN COALESCE((SELECT sum(pg_catalog.pg_table_size(t.relid)) FROM pg_catalog.pg_partition_tree(c.oid) t), 0)
            ELSE pg_catalog.pg_table_size(c.oid) END::int8 AS bytes
--#else
-- Before 12 a publication lists only ordinary tables (leaf partitions on their own).
--|       pg_catalog.pg_table_size(c.oid)::int8 AS bytes
--#end
  FROM pg_catalog.pg_publication_tables pt
  JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
 WHERE pt.pubname = $1
 ORDER BY 1, 2;
