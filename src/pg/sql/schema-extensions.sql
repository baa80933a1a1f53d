-- Extensions installed in the current database, except plpgsql (always there).
-- No parameters.
--   name, schema, version : extension name, the schema it lives in, its version
SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname <> 'plpgsql'
 ORDER BY e.extname;
