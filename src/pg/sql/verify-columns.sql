-- Columns of one table as pgshift verify compares them, and the key it cuts ranges by.
-- $1::text : schema name (unquoted)
-- $2::text : table name (unquoted)
-- One row per live column in attnum order (no rows when the table does not exist):
--   name         : column name
--   type         : format_type(); run with search_path = pg_catalog so user types come schema-qualified
--   key_position : 1-based position in the key, NULL for a non-key column. The key is the
--                  replica identity index when REPLICA IDENTITY USING INDEX, else the primary key;
--                  an index with expressions or a predicate is never used. Only the index's key
--                  columns: INCLUDE columns are not unique and may have no ordering (a box).
WITH t AS (
  SELECT c.oid, c.relreplident
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
), k AS (
--#if indexIncludeColumns
  SELECT i.indkey, i.indnkeyatts
--#else
-- Before 11 there are no INCLUDE columns (no indnkeyatts): every index column is a key column.
--|  SELECT i.indkey, i.indnatts AS indnkeyatts
--#end
    FROM pg_catalog.pg_index i, t
   WHERE i.indrelid = t.oid
     AND i.indexprs IS NULL AND i.indpred IS NULL
     AND CASE WHEN t.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END
   LIMIT 1
)
SELECT a.attname AS name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
       (SELECT o.n FROM k, unnest(k.indkey::int2[]) WITH ORDINALITY AS o(attnum, n)
         WHERE o.attnum = a.attnum AND o.n <= k.indnkeyatts)::int AS key_position
  FROM pg_catalog.pg_attribute a, t
 WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
