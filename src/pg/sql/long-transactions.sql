-- Transactions open on one database for longer than a threshold, oldest
-- first: what a write pause would have to wait for (PgBouncer's PAUSE waits
-- for running transactions to end; the fence proof waits for sessions to
-- stop writing). An idle session holds no transaction and is not listed;
-- one "idle in transaction" is. pgshift's own sessions (application_name
-- "pgshift ...") are not listed, nor is the session asking.
-- $1::text   : database name
-- $2::float8 : threshold in milliseconds
-- One row per transaction (the statement text is never read: it may hold secrets):
--   pid, usename, application_name, client_addr, state
--   age_ms : how long the transaction has been open
-- Without pg_read_all_stats another role's session shows no xact_start:
-- such a session cannot be judged here (the switchover preflight asks for
-- that privilege).
SELECT a.pid,
       a.usename::text AS usename,
       a.application_name,
       a.client_addr::text AS client_addr,
       a.state,
       (EXTRACT(EPOCH FROM (pg_catalog.clock_timestamp() - a.xact_start)) * 1000)::float8 AS age_ms
  FROM pg_catalog.pg_stat_activity a
 WHERE a.datname = $1
   AND a.backend_type = 'client backend'
   AND a.pid <> pg_catalog.pg_backend_pid()
   AND a.xact_start IS NOT NULL
   AND a.state IS DISTINCT FROM 'idle'
   AND a.application_name NOT LIKE 'pgshift%'
   AND pg_catalog.clock_timestamp() - a.xact_start > $2 * interval '1 millisecond'
 ORDER BY a.xact_start;
