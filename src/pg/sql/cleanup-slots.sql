-- Replication slots pgshift made for one database on this cluster: the named
-- slots, and the table-sync slots PostgreSQL made for a subscription whose
-- OID is given ("pg_<suboid>_sync_<relid>_<sysid>").
-- $1::text[] : slot names pgshift uses for the database
-- $2::text[] : OIDs (as text) of pgshift's subscriptions on the peer cluster, may be empty
-- One row per slot: slot_name, active, active_pid
SELECT s.slot_name::text AS slot_name, s.active, s.active_pid
  FROM pg_catalog.pg_replication_slots s
 WHERE s.slot_name = ANY ($1::text[])
    OR (s.slot_name LIKE 'pg\_%\_sync\_%' AND split_part(s.slot_name, '_', 2) = ANY ($2::text[]))
 ORDER BY 1;
