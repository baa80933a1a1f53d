-- Tables a publication carries, as the subscriber sees them: with
-- publish_via_partition_root (13+) the partitioned root, otherwise each
-- listed table (leaf partitions on 12).
--   $1::text : publication name
-- One row per table: schema, name
SELECT schemaname AS schema, tablename AS name
  FROM pg_catalog.pg_publication_tables
 WHERE pubname = $1
 ORDER BY 1, 2;
