-- The source's side of one subscription: its WAL position, and the walsender
-- serving the subscription's apply worker (application_name is the
-- subscription name), if connected.
--   $1::text : subscription name (the walsender's application_name)
-- One row: lsn (pg_current_wal_lsn), walsender_state, replay_lag_s (seconds,
-- NULL when idle or unknown)
SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn,
       r.state AS walsender_state,
       EXTRACT(epoch FROM r.replay_lag)::float8 AS replay_lag_s
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT state, replay_lag FROM pg_catalog.pg_stat_replication
                      WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1) r ON true;
