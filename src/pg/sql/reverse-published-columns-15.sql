-- What a publication publishes, per table and column, on a 15+ publisher:
-- pg_publication_tables.attnames honours column lists.
-- $1::text : publication name
-- One row per published table (leaf partitions when not through the root):
--   schema, name : unquoted names
--   columns      : the published columns
SELECT pt.schemaname AS schema,
       pt.tablename AS name,
       pt.attnames::text[] AS columns
  FROM pg_catalog.pg_publication_tables pt
 WHERE pt.pubname = $1
 ORDER BY 1, 2;
