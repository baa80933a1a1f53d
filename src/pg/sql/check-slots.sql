-- Replication slots of the cluster and the WAL each one holds back, for
-- `pgshift check` (leftover or inactive slots).
-- No parameters.
-- One row per slot:
--   slot_name, slot_type ('logical' | 'physical'), plugin, database (NULL for physical)
--   active            : a process is streaming from it now
--   temporary         : dropped when its session ends
--   retained_bytes    : WAL between the slot's restart_lsn and the current position
--                       (NULL when the slot has never reserved WAL)
SELECT s.slot_name::text,
       s.slot_type,
       s.plugin::text,
       s.database::text,
       s.active,
       s.temporary,
       pg_catalog.pg_wal_lsn_diff(
         CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
              ELSE pg_catalog.pg_current_wal_lsn() END,
         s.restart_lsn)::int8 AS retained_bytes
  FROM pg_catalog.pg_replication_slots s
 ORDER BY s.slot_name;
