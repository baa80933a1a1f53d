-- How far a slot's consumer has confirmed: all the switchover's catch-up poll
-- (every few ms while writes are paused) needs of pg_replication_slots.
-- $1::text : slot name
-- Zero or one row: confirmed_flush_lsn
SELECT s.confirmed_flush_lsn::text AS confirmed_flush_lsn
  FROM pg_catalog.pg_replication_slots s
 WHERE s.slot_name = $1;
