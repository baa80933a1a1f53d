-- A table's replica identity as it is now, in the migrated database.
-- $1::text : the table, qualified and quoted (schema.name as qualify() writes it)
-- At most one row:
--   datoid, relid, schema, name : the database's and the table's OIDs, the unquoted names
--   replident  : relreplident: d default, n nothing, f full, i index
--   index_name : the index marked indisreplident, when replident = 'i'
SELECT d.oid::int8 AS datoid,
       c.oid::int8 AS relid,
       n.nspname AS schema,
       c.relname AS name,
       c.relreplident::text AS replident,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS index_name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_database d ON d.datname = pg_catalog.current_database()
 WHERE c.oid = pg_catalog.to_regclass($1);
