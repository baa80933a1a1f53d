-- NOT VALID CHECK constraints of the current database, on tables and on
-- domains: rows written before such a constraint was added may violate it,
-- so the target gets it only after the initial copy (deferred-constraints.ts).
-- Run with an empty search_path, so every name in a definition is qualified.
-- No parameters.
--   kind       : 'table' or 'domain'
--   schema     : schema of the table or domain (unquoted)
--   name       : table or domain name (unquoted)
--   constraint : constraint name (unquoted)
--   def        : pg_get_constraintdef, e.g. CHECK ((f1 > 0)) NOT VALID
--   comment    : its comment, or NULL
--   depth      : tables: how many ancestors the table has (inheritance or
--                partitioning), so parents are handled before children; 0 for domains
-- Only constraints defined on the table itself (conislocal): a child's
-- inherited copy comes with its parent's.
WITH RECURSIVE checks AS (
  SELECT con.oid, con.conrelid, con.contypid, con.conname
    FROM pg_catalog.pg_constraint con
   WHERE con.contype = 'c' AND NOT con.convalidated AND (con.conrelid = 0 OR con.conislocal)
), up(start, rel, depth) AS (
  SELECT DISTINCT conrelid, conrelid, 0 FROM checks WHERE conrelid <> 0
  UNION ALL
  SELECT up.start, i.inhparent, up.depth + 1 FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid = up.rel
)
SELECT 'table' AS kind, n.nspname AS schema, c.relname AS name, k.conname AS constraint,
       pg_catalog.pg_get_constraintdef(k.oid) AS def,
       pg_catalog.obj_description(k.oid, 'pg_constraint') AS comment,
       (SELECT max(up.depth) FROM up WHERE up.start = c.oid)::int AS depth
  FROM checks k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
UNION ALL
SELECT 'domain', n.nspname, t.typname, k.conname,
       pg_catalog.pg_get_constraintdef(k.oid),
       pg_catalog.obj_description(k.oid, 'pg_constraint'),
       0
  FROM checks k
  JOIN pg_catalog.pg_type t ON t.oid = k.contypid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid
                      AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')
 ORDER BY 1 DESC, 7, 2, 3, 4;
