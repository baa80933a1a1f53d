-- The columns of these system catalogs and views on this server (the
-- target), for legacy-catalog-views.sql. A relation the server does not
-- have gets NULL.
-- $1::text[] : qualified relation names, e.g. "pg_catalog.pg_class"
-- One row per name: relation, columns (NULL when the relation is missing)
SELECT n.name AS relation,
       CASE WHEN pg_catalog.to_regclass(n.name) IS NOT NULL
            THEN ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = pg_catalog.to_regclass(n.name) AND a.attnum > 0 AND NOT a.attisdropped)
       END AS columns
  FROM unnest($1::text[]) AS n(name);
