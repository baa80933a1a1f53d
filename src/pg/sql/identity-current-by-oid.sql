-- Replica identities as they are now, for tables pgshift recorded.
-- $1::oid[] : table OIDs in the current (migrated) database
-- One row per table that still exists:
--   relid, schema, name : the table's OID and its current unquoted names
--   replident  : relreplident: d default, n nothing, f full, i index
--   index_name : the index marked indisreplident, when replident = 'i'
--   indexes    : names of the table's indexes (to tell whether an original identity index is still there)
SELECT c.oid::int8 AS relid,
       n.nspname AS schema,
       c.relname AS name,
       c.relreplident::text AS replident,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS index_name,
       ARRAY(SELECT ic.relname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = c.oid ORDER BY 1) AS indexes
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY ($1::oid[]);
