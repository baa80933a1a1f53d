-- Materialized views of the current database: populated or not, whether
-- REFRESH ... CONCURRENTLY can serve, and which other materialized views each
-- reads (directly or through ordinary views), to refresh them in dependency order.
-- No parameters.
-- One row per materialized view outside the system schemas:
--   schema, name   : unquoted names
--   populated      : pg_class.relispopulated (false: a SELECT on it fails)
--   unique_index   : has an index CONCURRENTLY accepts: unique, immediate, valid, btree,
--                    on plain columns, without a predicate
--   reads          : json array of {schema, name} of the materialized views it reads
WITH RECURSIVE reads (mv, rel, depth) AS (
  SELECT r.ev_class, d.refobjid, 0
    FROM pg_catalog.pg_rewrite r
    JOIN pg_catalog.pg_class m ON m.oid = r.ev_class AND m.relkind = 'm'
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> r.ev_class
  UNION
  -- Through an ordinary view: what that view's rule reads.
  SELECT reads.mv, d.refobjid, reads.depth + 1
    FROM reads
    JOIN pg_catalog.pg_class v ON v.oid = reads.rel AND v.relkind = 'v'
    JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                               AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> v.oid
   WHERE reads.depth < 32
)
SELECT n.nspname AS schema,
       c.relname AS name,
       c.relispopulated AS populated,
       EXISTS (SELECT 1
                 FROM pg_catalog.pg_index i
                 JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                 JOIN pg_catalog.pg_am am ON am.oid = ic.relam
                WHERE i.indrelid = c.oid AND i.indisunique AND i.indimmediate AND i.indisvalid
                  AND am.amname = 'btree' AND i.indexprs IS NULL AND i.indpred IS NULL AND i.indnatts > 0) AS unique_index,
       (SELECT coalesce(json_agg(DISTINCT jsonb_build_object('schema', dn.nspname, 'name', dc.relname)), '[]'::json)
          FROM reads
          JOIN pg_catalog.pg_class dc ON dc.oid = reads.rel AND dc.relkind = 'm' AND dc.oid <> c.oid
          JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
         WHERE reads.mv = c.oid) AS reads
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
 ORDER BY 1, 2;
