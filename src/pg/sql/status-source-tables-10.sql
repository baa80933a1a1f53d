-- Tables a publication carries, with their size on the source, on
-- PostgreSQL 10 and 11: a publication there lists only ordinary tables (leaf
-- partitions on their own), so no partition tree is summed.
--   $1::text : publication name
-- One row per published table: schema, name, bytes
SELECT pt.schemaname AS schema,
       pt.tablename AS name,
       pg_catalog.pg_table_size(c.oid)::int8 AS bytes
  FROM pg_catalog.pg_publication_tables pt
  JOIN pg_catalog.pg_namespace n ON n.nspname = pt.schemaname
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
 WHERE pt.pubname = $1
 ORDER BY 1, 2;
