-- The tables a subscription of the current database carries.
-- $1::text : subscription name
-- One row per table: schema, name (unquoted)
SELECT n.nspname AS schema, c.relname AS name
  FROM pg_catalog.pg_subscription s
  JOIN pg_catalog.pg_subscription_rel sr ON sr.srsubid = s.oid
  JOIN pg_catalog.pg_class c ON c.oid = sr.srrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE s.subname = $1
   AND s.subdbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
 ORDER BY 1, 2;
