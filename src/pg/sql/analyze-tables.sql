-- The target's tables that replication fills, for `pgshift analyze` and the
-- switchover preflight: the replicated tables, every partition below one that
-- is partitioned, and every partitioned table above one that is a partition
-- (targets are 13+: pg_partition_tree and pg_partition_ancestors exist).
-- $1::text[] : schemas of the replicated tables
-- $2::text[] : their names (same order as $1)
-- One row per table, largest first:
--   schema, name   : unquoted names
--   relkind        : 'r' table, 'p' partitioned table
--   is_partition   : a partition of a partitioned table
--   bytes          : total size on disk (a partitioned table's: its partitions')
--   analyzed       : it has planner statistics from an ANALYZE (by hand or by
--                    autovacuum). The statistics system kept no analyze time for
--                    a partitioned table before 14 (and autovacuum never analyzes
--                    one), so a partitioned table also counts as analyzed when its
--                    inheritance statistics are in pg_stats, or when every partition
--                    was analyzed and found empty (no rows, no statistics to gather).
WITH wanted AS (
  SELECT c.oid
    FROM unnest($1::text[], $2::text[]) AS w(schema, name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = w.name
), family AS (
  -- The two functions return nothing for a table outside any partition tree.
  SELECT w.oid AS relid FROM wanted w
  UNION
  SELECT t.relid FROM wanted w, pg_catalog.pg_partition_tree(w.oid) t
  UNION
  SELECT a.relid FROM wanted w, pg_catalog.pg_partition_ancestors(w.oid) a
)
SELECT n.nspname AS schema,
       c.relname AS name,
       c.relkind::text AS relkind,
       c.relispartition AS is_partition,
       CASE WHEN c.relkind = 'p'
            THEN (SELECT COALESCE(sum(pg_catalog.pg_total_relation_size(t.relid)), 0)
                    FROM pg_catalog.pg_partition_tree(c.oid) t WHERE t.isleaf)
            ELSE pg_catalog.pg_total_relation_size(c.oid) END::int8 AS bytes,
       (pg_catalog.pg_stat_get_last_analyze_time(c.oid) IS NOT NULL
        OR pg_catalog.pg_stat_get_last_autoanalyze_time(c.oid) IS NOT NULL
        OR (c.relkind = 'p'
            AND (EXISTS (SELECT 1 FROM pg_catalog.pg_stats s
                          WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.inherited)
                 OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree(c.oid) t
                                  JOIN pg_catalog.pg_class l ON l.oid = t.relid
                                 WHERE t.isleaf
                                   AND NOT (l.reltuples = 0
                                            AND (pg_catalog.pg_stat_get_last_analyze_time(l.oid) IS NOT NULL
                                                 OR pg_catalog.pg_stat_get_last_autoanalyze_time(l.oid) IS NOT NULL)))))) AS analyzed
  FROM family f
  JOIN pg_catalog.pg_class c ON c.oid = f.relid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
 ORDER BY bytes DESC, 1, 2;
