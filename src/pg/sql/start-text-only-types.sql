-- Column types of the given tables that have no binary send/receive
-- functions, looked through domains, arrays, composite and range types (a
-- composite's binary form holds its fields' binary forms). A subscription
-- with binary = true copies its tables in binary from PostgreSQL 16 on, and
-- that copy fails on such a type ("no binary input function available").
-- $1::oid[] : table OIDs
-- One row per such type: type (format_type), used_by ("schema.table.column", one example)
WITH RECURSIVE
cols AS (
  SELECT a.atttypid AS top_type,
         n.nspname || '.' || c.relname || '.' || a.attname AS used_by
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
),
parts (typ, used_by, depth) AS (
  SELECT top_type, used_by, 0 FROM cols
  UNION
  SELECT x.sub, p.used_by, p.depth + 1
    FROM parts p
    JOIN pg_catalog.pg_type t ON t.oid = p.typ
    CROSS JOIN LATERAL (
      SELECT t.typbasetype AS sub WHERE t.typtype = 'd'
      UNION ALL
      SELECT t.typelem WHERE t.typtype <> 'd' AND t.typelem <> 0 AND t.typlen = -1
      UNION ALL
      SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE t.typtype = 'r' AND r.rngtypid = t.oid
      UNION ALL
      SELECT fa.atttypid FROM pg_catalog.pg_attribute fa
       WHERE t.typtype = 'c' AND fa.attrelid = t.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped
    ) x
   WHERE p.depth < 8
)
SELECT pg_catalog.format_type(t.oid, NULL) AS type, min(p.used_by) AS used_by
  FROM parts p
  JOIN pg_catalog.pg_type t ON t.oid = p.typ
 WHERE t.typtype NOT IN ('d', 'p') AND (t.typsend = 0 OR t.typreceive = 0)
 GROUP BY t.oid
 ORDER BY 1;
