-- A replication slot on the publisher, and how far behind its consumer is.
-- $1::text : slot name
-- Zero or one row: active, confirmed_flush_lsn, lag_bytes (WAL not yet
-- confirmed), wal_status (13+; NULL before)
SELECT s.active,
       s.confirmed_flush_lsn::text AS confirmed_flush_lsn,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), s.confirmed_flush_lsn)::int8 AS lag_bytes,
       to_jsonb(s) ->> 'wal_status' AS wal_status
  FROM pg_catalog.pg_replication_slots s
 WHERE s.slot_name = $1;
