-- The top-level partitioned table of each given table (itself when it is not
-- a partition), on PostgreSQL 10 and 11, which have no pg_partition_root():
-- the chain of pg_inherits parents of a partition, followed to its end.
--   $1::oid[] : table OIDs
-- One row per OID: oid, root
WITH RECURSIVE up (oid, rel, depth) AS (
  SELECT t.oid, t.oid, 0 FROM unnest($1::oid[]) AS t(oid)
  UNION ALL
  SELECT up.oid, i.inhparent, up.depth + 1
    FROM up
    JOIN pg_catalog.pg_class c ON c.oid = up.rel AND c.relispartition
    JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.rel
)
SELECT DISTINCT ON (up.oid) up.oid::int8 AS oid, up.rel::int8 AS root
  FROM up
 ORDER BY up.oid, up.depth DESC;
