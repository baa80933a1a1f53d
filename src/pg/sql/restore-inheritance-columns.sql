-- Tables of plain inheritance trees (not partitioning), each with its
-- columns in column order and its direct parents in inheritance order: what
-- is needed to foresee the column order a schema-only restore gives them.
-- pg_dump writes a child as CREATE TABLE child (its local columns) INHERITS
-- (parents), so the restored child has its parents' columns first.
-- Sources 10+ (relispartition).
-- No parameters.
--   oid            : the table
--   schema, name   : the table (unquoted)
--   columns        : its columns, in attnum order
--   parents        : oids of its direct parents, by inhseqno
SELECT c.oid::int8 AS oid, n.nspname AS schema, c.relname AS name,
       array(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
       array(SELECT i.inhparent::int8 FROM pg_catalog.pg_inherits i
              WHERE i.inhrelid = c.oid ORDER BY i.inhseqno) AS parents
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT c.relispartition
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND (EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)
        OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class k ON k.oid = i.inhrelid
                    WHERE i.inhparent = c.oid AND NOT k.relispartition))
 ORDER BY 2, 3;
