-- The subscription of a given name in the current database (pg_subscription
-- is shared by the cluster; names are unique per database).
--   $1::text : subscription name
-- One row or none: oid, subname, subenabled, subslotname, subpublications, datname
SELECT s.oid::int8 AS oid,
       s.subname,
       s.subenabled,
       s.subslotname::text AS subslotname,
       s.subpublications,
       d.datname
  FROM pg_catalog.pg_subscription s
  JOIN pg_catalog.pg_database d ON d.oid = s.subdbid
 WHERE s.subname = $1
   AND d.datname = pg_catalog.current_database();
