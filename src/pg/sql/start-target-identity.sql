-- A table's replica identity on the target, to mirror the source's.
--   $1::text : schema name
--   $2::text : table name
-- One row, or none when the table does not exist on the target:
--   replident       : relreplident ('d', 'n', 'f', 'i')
--   replident_index : the REPLICA IDENTITY USING INDEX index, if any
--   has_pk          : the table has a primary key
SELECT c.relreplident::text AS replident,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS replident_index,
       EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p');
