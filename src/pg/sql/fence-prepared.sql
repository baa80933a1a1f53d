-- Prepared transactions of one database: each can still commit at any time,
-- so a fence is not proven while any exists.
-- $1::text : database name
SELECT gid, owner::text AS owner, prepared::text AS prepared
  FROM pg_catalog.pg_prepared_xacts
 WHERE database = $1
 ORDER BY prepared;
