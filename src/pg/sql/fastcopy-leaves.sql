-- Leaf tables the fast copy fills, for the published tables: a partitioned
-- table stands for its leaf partitions, a plain table for itself.
-- $1::oid[] : OIDs of the published tables (roots or plain tables)
-- Returns one row per leaf: schema, name, bytes (main fork size), blocks
-- (main fork pages), int_key (the column of a single-column
-- smallint/integer/bigint primary key, else NULL).
-- (pg_partition_tree returns no row for a table outside any partition tree.)
-- Before 12 (no pg_partition_tree) a publication lists only ordinary tables,
-- each leaf partition on its own, so the published tables are the leaves.
WITH leaves AS (
--#if partitionTreeFunctions
  SELECT t.relid AS oid
    FROM unnest($1::oid[]) AS p(oid), LATERAL pg_catalog.pg_partition_tree(p.oid) AS t
   WHERE t.isleaf
  UNION
--#end
  SELECT p.oid FROM unnest($1::oid[]) AS p(oid)
)
SELECT n.nspname AS schema,
       c.relname AS name,
       pg_catalog.pg_relation_size(c.oid)::int8 AS bytes,
       (pg_catalog.pg_relation_size(c.oid) / pg_catalog.current_setting('block_size')::int8)::int8 AS blocks,
       (SELECT a.attname
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
         WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
           AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) AS int_key
  FROM leaves l
  JOIN pg_catalog.pg_class c ON c.oid = l.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
 ORDER BY pg_catalog.pg_relation_size(c.oid) DESC, n.nspname, c.relname;
