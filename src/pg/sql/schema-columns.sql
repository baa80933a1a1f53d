-- Columns of the user tables (ordinary and partitioned) of the current
-- database, leaving out system schemas, pgshift's own schema and tables
-- owned by extensions. Type names are format_type() text, which both
-- clusters print alike for the same type (OIDs differ between clusters).
-- No parameters.
--   schema, table, column : unquoted names
--   type                  : format_type with typmod, e.g. "character varying(20)", "app.status[]"
--   type_name             : format_type without typmod, e.g. "character varying"
--   typmod                : atttypmod (-1 for none)
--   not_null, has_default : NOT NULL; a DEFAULT expression
--   generated, identity   : a generated column; an identity column
--   enum_labels           : the labels when the type is an enum, else NULL
SELECT n.nspname AS schema,
       c.relname AS table,
       a.attname AS column,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       pg_catalog.format_type(a.atttypid, NULL) AS type_name,
       a.atttypmod AS typmod,
       a.attnotnull AS not_null,
       a.atthasdef AS has_default,
--#if generatedColumns
       a.attgenerated <> '' AS generated,
--#else
--|       false AS generated,
--#end
       a.attidentity <> '' AS identity,
       CASE WHEN t.typtype = 'e'
            THEN ARRAY(SELECT e.enumlabel::text FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)
       END AS enum_labels
  FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
 WHERE c.relkind IN ('r', 'p')
   AND c.relpersistence <> 't'
   AND a.attnum > 0
   AND NOT a.attisdropped
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
 ORDER BY n.nspname, c.relname, a.attnum;
