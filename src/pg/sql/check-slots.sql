-- Replication slots of the cluster and the WAL each one holds back, for
-- `pgshift check` (leftover or inactive slots).
-- No parameters.
-- One row per slot:
--   slot_name, slot_type ('logical' | 'physical'), plugin, database (NULL for physical)
--   active            : a process is streaming from it now
--   temporary         : dropped when its session ends
--   retained_bytes    : WAL between the slot's restart_lsn and the current position
--                       (NULL when the slot has never reserved WAL)
--   wal_status        : 13+ reserved | extended | unreserved | lost (NULL before 13)
--   invalidation_reason : 17+ why the slot was invalidated; 'conflicting' on 16
--                       when conflicting is true; else NULL
-- Version-dependent columns are read through to_jsonb, so one query serves 12-18.
SELECT s.slot_name::text,
       s.slot_type,
       s.plugin::text,
       s.database::text,
       s.active,
       s.temporary,
       pg_catalog.pg_wal_lsn_diff(
         CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
              ELSE pg_catalog.pg_current_wal_lsn() END,
         s.restart_lsn)::int8 AS retained_bytes,
       pg_catalog.to_jsonb(s) ->> 'wal_status' AS wal_status,
       COALESCE(pg_catalog.to_jsonb(s) ->> 'invalidation_reason',
                CASE WHEN (pg_catalog.to_jsonb(s) ->> 'conflicting')::boolean THEN 'conflicting' END) AS invalidation_reason
  FROM pg_catalog.pg_replication_slots s
 ORDER BY s.slot_name;
