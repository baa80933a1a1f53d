-- The stored columns of one table a switchover copies (generated columns are
-- computed by the receiving side), in column order. Before 12 there are no
-- generated columns (no attgenerated): every column.
-- $1::text : the table, qualified and quoted (qualify())
-- One row per column: attname
SELECT a.attname
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
--#if generatedColumns
   AND a.attgenerated = ''
--#end
 ORDER BY a.attnum;
