-- Constraint definitions for the post-data build, read on the source.
-- $1::oid[] : pg_constraint OIDs (from pg_dump's table of contents)
-- Run with search_path = '' so every name in the definitions is qualified.
-- Returns: oid, contype (p u x f c ...), name, table_schema, table_name,
-- table_kind (relkind), is_partition, def (pg_get_constraintdef), index_def
-- (pg_get_indexdef of the constraint's own index; NULL for FKs, whose
-- conindid is the referenced table's index), index_kind (relkind of that
-- index), deferrable, deferred, validated.
SELECT c.oid::int8 AS oid,
       c.contype,
       c.conname AS name,
       n.nspname AS table_schema,
       t.relname AS table_name,
       t.relkind AS table_kind,
       t.relispartition AS is_partition,
       pg_catalog.pg_get_constraintdef(c.oid) AS def,
       CASE WHEN c.contype IN ('p', 'u', 'x') AND c.conindid <> 0 THEN pg_catalog.pg_get_indexdef(c.conindid) END AS index_def,
       ix.relkind AS index_kind,
       c.condeferrable AS deferrable,
       c.condeferred AS deferred,
       c.convalidated AS validated
  FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_class t ON t.oid = c.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_catalog.pg_class ix ON ix.oid = c.conindid
 WHERE c.oid = ANY ($1::oid[]);
