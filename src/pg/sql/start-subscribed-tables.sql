-- Tables the subscription of a given name in the current database knows
-- about (pg_subscription_rel), by name: compared with the publication's
-- table list to decide whether a REFRESH PUBLICATION is needed.
--   $1::text : subscription name
-- One row per table: schema, name
SELECT n.nspname AS schema, c.relname AS name
  FROM pg_catalog.pg_subscription s
  JOIN pg_catalog.pg_database d ON d.oid = s.subdbid AND d.datname = pg_catalog.current_database()
  JOIN pg_catalog.pg_subscription_rel sr ON sr.srsubid = s.oid
  JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE s.subname = $1
 ORDER BY 1, 2;
