-- What pgshift needs to choose a replica identity for each table.
-- $1::oid[] : pg_class OIDs of leaf tables (ordinary tables and partitions;
--             a partitioned table has no rows of its own, pass its leaves)
-- One row per table:
--   oid              : the table
--   replident        : relreplident: 'd' default (PK), 'n' nothing, 'f' full, 'i' index
--   pk_index         : name of the primary key index, if any
--   replident_index  : name of the index marked indisreplident, if any
--   candidates       : json array of {name, ncols} for every index REPLICA IDENTITY
--                      USING INDEX accepts (unique, immediate, valid, not partial,
--                      no expressions, every key column NOT NULL), fewest key
--                      columns first, then by name
--   no_equality      : json array of {column, type} for columns whose type (or a
--                      domain base, array element or composite field of it) has
--                      no default btree or hash operator class: the subscriber
--                      cannot match such rows under REPLICA IDENTITY FULL
WITH RECURSIVE
cols AS (
  SELECT a.attrelid AS relid, a.attnum, a.attname, a.atttypid AS top_type
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = ANY ($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
),
-- Each column type unfolded into the types equality depends on.
parts (top_type, typ, depth) AS (
  SELECT DISTINCT top_type, top_type, 0 FROM cols
  UNION
  SELECT p.top_type, x.sub, p.depth + 1
    FROM parts p
    JOIN pg_catalog.pg_type t ON t.oid = p.typ
    CROSS JOIN LATERAL (
      SELECT t.typbasetype AS sub WHERE t.typtype = 'd'
      UNION ALL
      SELECT t.typelem WHERE t.typtype <> 'd' AND t.typelem <> 0 AND t.typlen = -1
      UNION ALL
      SELECT fa.atttypid FROM pg_catalog.pg_attribute fa
       WHERE t.typtype = 'c' AND fa.attrelid = t.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped
    ) x
   WHERE p.depth < 8
),
-- Leaf types without equality, as the type cache decides it (GetDefaultOpClass):
-- a default btree (else hash) operator class for the type itself, or exactly one
-- for a binary-coercible type (a preferred type of the same category wins a
-- tie). xml, for one, is binary-coercible to both text and bpchar and so has
-- none. Enums, ranges and multiranges have generic operator classes (anyenum,
-- anyrange, anymultirange); domains, arrays and composites are judged by what
-- they unfold into.
lacking AS (
  SELECT DISTINCT p.top_type, p.typ
    FROM parts p
    JOIN pg_catalog.pg_type t ON t.oid = p.typ
   WHERE t.typtype NOT IN ('d', 'c', 'e', 'r', 'm')
     AND NOT (t.typelem <> 0 AND t.typlen = -1)
     AND NOT EXISTS (
       SELECT 1
         FROM pg_catalog.pg_am am
        CROSS JOIN LATERAL (
          SELECT count(*) FILTER (WHERE oc.opcintype = t.oid) AS exact,
                 count(*) FILTER (WHERE oc.opcintype <> t.oid AND it.typcategory = t.typcategory AND it.typispreferred) AS preferred,
                 count(*) FILTER (WHERE oc.opcintype <> t.oid) AS compatible
            FROM pg_catalog.pg_opclass oc
            JOIN pg_catalog.pg_type it ON it.oid = oc.opcintype
           WHERE oc.opcmethod = am.oid
             AND oc.opcdefault
             AND (oc.opcintype = t.oid
                  OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                              WHERE k.castsource = t.oid AND k.casttarget = oc.opcintype AND k.castmethod = 'b'))
        ) m
        WHERE am.amname IN ('btree', 'hash')
          AND (m.exact > 0 OR m.preferred = 1 OR (m.preferred = 0 AND m.compatible = 1)))
)
SELECT c.oid::int8 AS oid,
       c.relreplident::text AS replident,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisprimary) AS pk_index,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS replident_index,
--#if indexIncludeColumns
       (SELECT coalesce(json_agg(json_build_object('name', ic.relname, 'ncols', i.indnkeyatts)
                                 ORDER BY i.indnkeyatts, ic.relname), '[]'::json)
--#else
-- Before 11 there are no INCLUDE columns (no indnkeyatts): every index column is a key column.
--|       (SELECT coalesce(json_agg(json_build_object('name', ic.relname, 'ncols', i.indnatts)
--|                                 ORDER BY i.indnatts, ic.relname), '[]'::json)
--#end
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid
           AND i.indisunique AND i.indimmediate AND i.indisvalid AND i.indisready AND i.indislive
           AND i.indpred IS NULL AND i.indexprs IS NULL
           AND NOT EXISTS (
             SELECT 1
--#if indexIncludeColumns
               FROM generate_series(0, i.indnkeyatts - 1) AS k
--#else
--|               FROM generate_series(0, i.indnatts - 1) AS k
--#end
               LEFT JOIN pg_catalog.pg_attribute ka ON ka.attrelid = c.oid AND ka.attnum = i.indkey[k]
              WHERE i.indkey[k] <= 0 OR ka.attnum IS NULL OR NOT ka.attnotnull)) AS candidates,
       (SELECT coalesce(json_agg(json_build_object('column', cl.attname,
                                                   'type', pg_catalog.format_type(cl.top_type, NULL))
                                 ORDER BY cl.attnum), '[]'::json)
          FROM cols cl
         WHERE cl.relid = c.oid
           AND EXISTS (SELECT 1 FROM lacking l WHERE l.top_type = cl.top_type)) AS no_equality
  FROM pg_catalog.pg_class c
 WHERE c.oid = ANY ($1::oid[])
 ORDER BY c.oid;
