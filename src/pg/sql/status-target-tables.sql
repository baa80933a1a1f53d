-- Per-table sync state of a subscription in the current database, with the
-- table's size on the target (summed over partitions for a partitioned table).
--   $1::text : subscription name
-- One row per subscribed table:
--   oid          : target table OID (matches pg_stat_progress_copy.relid)
--   schema, name : unquoted names
--   state        : srsubstate: i init, d data copy, f finished copy (14+),
--                  s synchronized, r ready
--   lsn          : srsublsn (end of the table's sync, for s and r)
--   bytes        : pg_table_size on the target
SELECT c.oid::int8 AS oid,
       n.nspname AS schema,
       c.relname AS name,
       sr.srsubstate::text AS state,
       sr.srsublsn::text AS lsn,
       CASE WHEN c.relkind = 'p'
            THEN COALESCE((SELECT sum(pg_catalog.pg_table_size(t.relid)) FROM pg_catalog.pg_partition_tree(c.oid) t), 0)
            ELSE pg_catalog.pg_table_size(c.oid) END::int8 AS bytes
  FROM pg_catalog.pg_subscription s
  JOIN pg_catalog.pg_database d ON d.oid = s.subdbid AND d.datname = pg_catalog.current_database()
  JOIN pg_catalog.pg_subscription_rel sr ON sr.srsubid = s.oid
  JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE s.subname = $1
 ORDER BY 2, 3;
