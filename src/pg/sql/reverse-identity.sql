-- The replica identity of tables on the side that publishes reverse
-- replication (the target): a column list must cover it, and cannot at all
-- under FULL.
-- $1::oid[] : tables
-- One row per table:
--   oid, replident    : relreplident: d default, n nothing, f full, i index
--   identity_columns  : the key columns of the index the identity uses (the one marked
--                       indisreplident, or the primary key for DEFAULT); empty for FULL,
--                       NOTHING, or DEFAULT without a primary key
SELECT c.oid::int8 AS oid,
       c.relreplident::text AS replident,
       ARRAY(SELECT a.attname::text
               FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_attribute a
                 ON a.attrelid = i.indrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
              WHERE i.indrelid = c.oid
                AND CASE c.relreplident WHEN 'i' THEN i.indisreplident WHEN 'd' THEN i.indisprimary ELSE false END
              ORDER BY a.attnum) AS identity_columns
  FROM pg_catalog.pg_class c
 WHERE c.oid = ANY ($1::oid[]);
