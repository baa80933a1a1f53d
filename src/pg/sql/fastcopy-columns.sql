-- Columns the fast copy moves, for tables named by schema and name; run on
-- both sides so the two can be compared.
-- $1::text[] : schema names, $2::text[] : table names (pairwise)
-- Returns one row per stored, non-generated column, in column order:
-- schema, name, column, type (format_type, for comparing the two sides),
-- binary_ok (the type's binary I/O carries no type OIDs of this cluster:
-- a built-in base type with send/receive functions; user-defined types,
-- enums, composites and arrays of them embed or depend on OIDs that differ
-- between clusters, so they travel as text).
SELECT n.nspname AS schema,
       c.relname AS name,
       a.attname AS column,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       (base.oid < 16384 AND base.typsend <> 0 AND base.typreceive <> 0) AS binary_ok
  FROM unnest($1::text[], $2::text[]) AS want(schema, name)
  JOIN pg_catalog.pg_namespace n ON n.nspname = want.schema
  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = want.name
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  JOIN pg_catalog.pg_type base ON base.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
--#if generatedColumns
 WHERE a.attgenerated = ''
--#end
 ORDER BY n.nspname, c.relname, a.attnum;
