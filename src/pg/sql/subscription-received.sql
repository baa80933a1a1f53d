-- How far a subscription's leader apply worker has read the publisher's
-- stream, on the subscriber: all the switchover's catch-up poll needs (every
-- millisecond or so while writes are paused).
-- $1::text : subscription name
-- Zero or one row (none: no such subscription in the current database):
--   received_lsn : the publisher position of the last message the leader
--                  apply worker read (a change, a commit or a keepalive);
--                  NULL when no apply worker runs
--   worker_pid   : that worker's pid (a restarted worker starts its count again)
-- Parallel apply workers (16+: leader_pid set) and table sync workers (relid
-- set) are left out; to_jsonb reads leader_pid where the column exists.
SELECT st.received_lsn::text AS received_lsn, st.pid AS worker_pid
  FROM pg_catalog.pg_subscription s
  LEFT JOIN pg_catalog.pg_stat_subscription st
    ON st.subid = s.oid AND st.relid IS NULL AND st.pid IS NOT NULL
   AND (to_jsonb(st) ->> 'leader_pid') IS NULL
 WHERE s.subname = $1
   AND s.subdbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database());
