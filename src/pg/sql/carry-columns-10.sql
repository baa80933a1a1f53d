-- The columns of one table a switchover copies, in column order, on
-- PostgreSQL 10 and 11 (no generated columns: attgenerated is 12+).
-- $1::text : the table, qualified and quoted (qualify())
-- One row per column: attname
SELECT a.attname
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;
