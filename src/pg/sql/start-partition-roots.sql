-- The top-level partitioned table of each given table (itself when it is not
-- a partition), so a leaf's replica identity plan can be tied to the root
-- that a publish_via_partition_root publication lists.
--   $1::oid[] : table OIDs
-- One row per OID: oid, root
SELECT t.oid::int8 AS oid,
       COALESCE(pg_catalog.pg_partition_root(t.oid), t.oid)::int8 AS root
  FROM unnest($1::oid[]) AS t(oid);
