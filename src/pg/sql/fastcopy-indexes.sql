-- Index definitions for the post-data build, read on the source.
-- $1::oid[] : index OIDs (from pg_dump's table of contents)
-- Run with search_path = '' so every name in the definition is qualified.
-- Returns: oid, schema, name (the index), table_schema, table_name, def.
SELECT i.oid::int8 AS oid,
       n.nspname AS schema,
       i.relname AS name,
       tn.nspname AS table_schema,
       t.relname AS table_name,
       pg_catalog.pg_get_indexdef(i.oid) AS def
  FROM pg_catalog.pg_class i
  JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
  JOIN pg_catalog.pg_index x ON x.indexrelid = i.oid
  JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
  JOIN pg_catalog.pg_namespace tn ON tn.oid = t.relnamespace
 WHERE i.oid = ANY ($1::oid[]);
