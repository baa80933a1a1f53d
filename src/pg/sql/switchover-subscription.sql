-- A subscription of the current database and the state of its tables, for
-- switchover preflight and crash recovery.
-- $1::text : subscription name
-- Zero or one row:
--   enabled, slot_name, worker_pid (apply worker, NULL when not running),
--   tables (count), not_ready (tables not in state 'r', as "schema.name:state")
SELECT s.subenabled AS enabled,
       s.subslotname::text AS slot_name,
       (SELECT st.pid FROM pg_catalog.pg_stat_subscription st
         WHERE st.subid = s.oid AND st.relid IS NULL LIMIT 1) AS worker_pid,
       (SELECT count(*) FROM pg_catalog.pg_subscription_rel sr WHERE sr.srsubid = s.oid)::int AS tables,
       ARRAY(SELECT n.nspname || '.' || c.relname || ':' || sr.srsubstate::text
               FROM pg_catalog.pg_subscription_rel sr
               JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE sr.srsubid = s.oid AND sr.srsubstate <> 'r'
              ORDER BY 1) AS not_ready
  FROM pg_catalog.pg_subscription s
 WHERE s.subname = $1
   AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database());
