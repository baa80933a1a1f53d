-- User tables of the current database, with what replication needs to know.
-- No parameters.
-- One row per ordinary or partitioned table outside the system schemas:
--   schema, name         : unquoted names
--   relkind              : 'r' ordinary, 'p' partitioned
--   persistence          : 'p' permanent, 'u' unlogged, 't' temp (never listed)
--   is_partition         : a partition of a partitioned table
--   replident            : relreplident: 'd' default (PK), 'n' nothing, 'f' full, 'i' index
--   has_pk               : has a primary key
--   replident_index      : name of the REPLICA IDENTITY USING INDEX index, if any
--   extension            : name of the extension owning the table, if any
--   est_rows, bytes      : planner estimate and total size on disk
SELECT n.nspname AS schema,
       c.relname AS name,
       c.oid::int8 AS oid,
       c.relkind::text AS relkind,
       c.relpersistence::text AS persistence,
       c.relispartition AS is_partition,
       c.relreplident::text AS replident,
       EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk,
       (SELECT ic.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
         WHERE i.indrelid = c.oid AND i.indisreplident) AS replident_index,
       (SELECT e.extname FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
           AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e' LIMIT 1) AS extension,
       GREATEST(c.reltuples, 0)::int8 AS est_rows,
       pg_catalog.pg_total_relation_size(c.oid)::int8 AS bytes
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
 ORDER BY n.nspname, c.relname;
