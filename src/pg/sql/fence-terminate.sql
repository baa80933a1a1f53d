-- End every other client session of one database (after CONNECT was revoked
-- or the database made read-only, so they cannot come back as before).
-- A role that is not a superuser may not end a superuser's session: those
-- are left to the fence proof, which waits for them to stop writing.
-- $1::text  : database name
-- $2::int[] : pids of pgshift's own sessions (never terminated)
-- Returns the number of sessions signalled.
SELECT count(*) FILTER (WHERE pg_catalog.pg_terminate_backend(a.pid))::int AS terminated
  FROM pg_catalog.pg_stat_activity a
  LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.usesysid
 WHERE a.datname = $1
   AND a.backend_type = 'client backend'
   AND a.pid <> ALL ($2::int[])
   AND (NOT COALESCE(r.rolsuper, false)
        OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
