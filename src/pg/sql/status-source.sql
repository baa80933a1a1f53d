-- The source's side of one subscription: its WAL position, and the walsender
-- serving the subscription's apply worker (application_name is the
-- subscription name), if connected.
--   $1::text : subscription name (the walsender's application_name)
-- One row: lsn (pg_current_wal_lsn), walsender_pid, walsender_state,
-- replay_lag_s (seconds, NULL when idle or unknown), reply_age_s (seconds
-- since the walsender last heard from the subscriber, NULL before any reply)
SELECT pg_catalog.pg_current_wal_lsn()::text AS lsn,
       r.pid AS walsender_pid,
       r.state AS walsender_state,
       EXTRACT(epoch FROM r.replay_lag)::float8 AS replay_lag_s,
--#if replicationReplyTime
       EXTRACT(epoch FROM pg_catalog.clock_timestamp() - r.reply_time)::float8 AS reply_age_s
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT pid, state, replay_lag, reply_time FROM pg_catalog.pg_stat_replication
--#else
-- Before 12 pg_stat_replication has no reply_time: a silent connection is
-- not detected before wal_sender_timeout ends it.
--|       NULL::float8 AS reply_age_s
--|  FROM (SELECT 1) one
--|  LEFT JOIN LATERAL (SELECT pid, state, replay_lag FROM pg_catalog.pg_stat_replication
--#end
                      WHERE application_name = $1 ORDER BY backend_start DESC LIMIT 1) r ON true;
