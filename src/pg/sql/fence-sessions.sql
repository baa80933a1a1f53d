-- Sessions of one database that could still commit: everything pgshift must
-- see gone before it may call the database fenced.
-- $1::text  : database name
-- $2::int[] : pids of pgshift's own sessions (never counted)
-- One row per other client session of that database:
--   pid, usename, application_name, client_addr, state
--   writing   : holds a transaction id, is inside a transaction, or is running a statement
--   superuser : the role bypasses CONNECT privileges and can reconnect after a revoke
-- Without pg_read_all_stats, another role's session shows no backend_type and
-- no state: such a session (it has a user, so it is no background worker)
-- counts as writing, so a fence is never proven blind. (The switchover
-- preflight asks for pg_read_all_stats first.)
SELECT a.pid,
       a.usename::text AS usename,
       a.application_name,
       a.client_addr::text AS client_addr,
       a.state,
       (a.backend_xid IS NOT NULL OR a.state IS NULL
        OR a.state IN ('active', 'idle in transaction', 'idle in transaction (aborted)', 'fastpath function call')) AS writing,
       COALESCE(r.rolsuper, false) AS superuser
  FROM pg_catalog.pg_stat_activity a
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
 WHERE a.datname = $1
   AND (a.backend_type = 'client backend' OR (a.backend_type IS NULL AND a.usesysid IS NOT NULL))
   AND a.pid <> ALL ($2::int[])
 ORDER BY a.pid;
