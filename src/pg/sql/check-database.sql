-- What one source database holds that logical replication does not carry,
-- for `pgshift check`. Run connected to that database.
-- No parameters.
-- One row:
--   large_objects       : number of large objects (not replicated)
--   lo_columns          : json array of "schema.table.column (type)": columns of type oid, or a domain
--                         over oid (the lo extension's lo), of user tables: what can refer to large objects
--   materialized_views  : json array of {schema, name} (not replicated; refresh on the target)
--   extensions          : json array of {name, version} installed in this database
--   can_create          : current_user may CREATE in this database (CREATE PUBLICATION needs it)
SELECT (SELECT count(*) FROM pg_catalog.pg_largeobject_metadata)::int8 AS large_objects,
       (SELECT coalesce(json_agg(n.nspname || '.' || c.relname || '.' || a.attname || ' (' || t.typname || ')'
                                 ORDER BY n.nspname, c.relname, a.attnum), '[]'::json)
          FROM pg_catalog.pg_attribute a
          JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
         WHERE a.attnum > 0 AND NOT a.attisdropped
           AND c.relkind IN ('r', 'p') AND NOT c.relispartition
           AND (a.atttypid = 'pg_catalog.oid'::regtype OR (t.typtype = 'd' AND t.typbasetype = 'pg_catalog.oid'::regtype))
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
           AND n.nspname NOT LIKE 'pg\_%') AS lo_columns,
       (SELECT coalesce(json_agg(json_build_object('schema', n.nspname, 'name', c.relname)
                                 ORDER BY n.nspname, c.relname), '[]'::json)
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relkind = 'm'
           AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift')
           AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                              AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e')) AS materialized_views,
       (SELECT coalesce(json_agg(json_build_object('name', e.extname, 'version', e.extversion)
                                 ORDER BY e.extname), '[]'::json)
          FROM pg_catalog.pg_extension e) AS extensions,
       pg_catalog.has_database_privilege(current_database(), 'CREATE') AS can_create;
