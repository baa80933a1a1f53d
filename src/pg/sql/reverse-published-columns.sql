-- What a publication publishes, per table and column: on a 15+ publisher
-- pg_publication_tables.attnames, which honours column lists.
-- $1::text : publication name
-- One row per published table (leaf partitions when not through the root):
--   schema, name : unquoted names
--   columns      : the published columns
SELECT pt.schemaname AS schema,
       pt.tablename AS name,
--#if publicationColumnLists
       pt.attnames::text[] AS columns
--#else
-- Before 15 (no column lists) every column that is not generated.
--|       ARRAY(SELECT a.attname::text
--|               FROM pg_catalog.pg_attribute a
--|               JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
--|               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
--|              WHERE n.nspname = pt.schemaname AND c.relname = pt.tablename
--|                AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
--|              ORDER BY a.attnum) AS columns
--#end
  FROM pg_catalog.pg_publication_tables pt
 WHERE pt.pubname = $1
 ORDER BY 1, 2;
