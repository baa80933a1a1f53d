-- Who holds pgshift's advisory lock for one database (lock.ts): the
-- two-key form pg_try_advisory_lock(int4, int4), which pg_locks shows with
-- objsubid = 2, classid = key 1 and objid = key 2 (both as unsigned oids).
-- $1::int8 : key 1 as an unsigned 32-bit value
-- $2::int8 : key 2 as an unsigned 32-bit value
-- At most one row (the lock is exclusive):
--   pid              : the holding session on this server
--   application_name : what pgshift wrote there: "pgshift lock <command> <pid> <since> <host>"
--   client_addr      : where it connected from (NULL for a Unix socket, or when not visible)
--   backend_start    : when that session started (NULL when not visible to this role)
SELECT l.pid,
       a.application_name,
       a.client_addr::text AS client_addr,
       a.backend_start::text AS backend_start
  FROM pg_catalog.pg_locks l
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory'
   AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
   AND l.classid::int8 = $1
   AND l.objid::int8 = $2
   AND l.objsubid = 2
   AND l.granted
 LIMIT 1;
