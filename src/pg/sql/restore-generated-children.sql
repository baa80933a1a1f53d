-- Generated columns of inheritance children and partitions whose parent's
-- column of the same name is not generated. PostgreSQL 16+ refuses them
-- ("child column "b" specifies generation expression"); 12-15 accepted them.
-- Sources 12+ only (attgenerated).
-- No parameters.
--   schema, name               : the child table (unquoted)
--   column                     : the generated column
--   parent_schema, parent_name : its parent table
--   is_partition               : the child is a partition (else an inheritance child)
SELECT n.nspname AS schema, c.relname AS name, a.attname AS column,
       pn.nspname AS parent_schema, p.relname AS parent_name, c.relispartition AS is_partition
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
  JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
  JOIN pg_catalog.pg_attribute pa ON pa.attrelid = p.oid AND pa.attname = a.attname AND NOT pa.attisdropped AND pa.attgenerated = ''
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
 ORDER BY 1, 2, 3;
