-- The subscription's workers (pg_stat_subscription), one JSON object each so
-- columns added by later versions (leader_pid 16+, worker_type 17+) need no
-- version-specific query.
--   $1::oid : subscription OID
-- One row per worker slot: w (jsonb with pid, relid, received_lsn,
-- latest_end_lsn, last_msg_send_time, last_msg_receipt_time, latest_end_time, ...),
-- now (the target's clock, for ages)
SELECT pg_catalog.to_jsonb(s) AS w, pg_catalog.now() AS now
  FROM pg_catalog.pg_stat_subscription s
 WHERE s.subid = $1;
