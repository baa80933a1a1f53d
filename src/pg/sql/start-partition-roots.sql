-- The top-level partitioned table of each given table (itself when it is not
-- a partition), so a leaf's replica identity plan can be tied to the root
-- that a publish_via_partition_root publication lists.
--   $1::oid[] : table OIDs
-- One row per OID: oid, root
--#if partitionTreeFunctions
SELECT t.oid::int8 AS oid,
       COALESCE(pg_catalog.pg_partition_root(t.oid), t.oid)::int8 AS root
  FROM unnest($1::oid[]) AS t(oid);
--#else
-- Before 12 (no pg_partition_root): the chain of pg_inherits parents of a
-- partition, followed to its end.
--|WITH RECURSIVE up (oid, rel, depth) AS (
--|  SELECT t.oid, t.oid, 0 FROM unnest($1::oid[]) AS t(oid)
--|  UNION ALL
--|  SELECT up.oid, i.inhparent, up.depth + 1
--|    FROM up
--|    JOIN pg_catalog.pg_class c ON c.oid = up.rel AND c.relispartition
--|    JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.rel
--|)
--|SELECT DISTINCT ON (up.oid) up.oid::int8 AS oid, up.rel::int8 AS root
--|  FROM up
--| ORDER BY up.oid, up.depth DESC;
--#end
