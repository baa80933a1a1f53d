-- Why a replication slot can no longer be used, in the columns each version
-- has: wal_status (13+), conflicting (16+: invalidated by a conflict with
-- recovery), invalidation_reason (17+: wal_removed, rows_removed,
-- wal_level_insufficient; idle_timeout on 18). Read through to_jsonb so one
-- query serves every version (missing columns are NULL).
--   $1::text : slot name
-- Zero or one row: wal_status, conflicting (boolean or NULL),
-- invalidation_reason, safe_wal_size (bytes left before the slot is lost, NULL
-- when unlimited or before 13)
SELECT j ->> 'wal_status' AS wal_status,
       (j ->> 'conflicting')::boolean AS conflicting,
       j ->> 'invalidation_reason' AS invalidation_reason,
       (j ->> 'safe_wal_size')::int8 AS safe_wal_size
  FROM (SELECT pg_catalog.to_jsonb(s) AS j
          FROM pg_catalog.pg_replication_slots s
         WHERE s.slot_name = $1) x;
