-- Error counters of a subscription (PostgreSQL 15+): they only grow, so a
-- count rising between two looks means errors are happening now.
--   $1::oid : subscription OID
-- One row or none: apply_error_count, sync_error_count
SELECT apply_error_count::int8 AS apply_error_count,
       sync_error_count::int8 AS sync_error_count
  FROM pg_catalog.pg_stat_subscription_stats
 WHERE subid = $1;
