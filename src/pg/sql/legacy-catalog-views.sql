-- User views and materialized views that read system catalogs or system
-- views, with what the target must have for them: a view naming a catalog
-- column a newer version removed (pg_class.relhasoids from 12, say) fails to
-- restore. Dependencies on catalogs are not recorded in pg_depend (they are
-- pinned), so the relations come from the view's query tree, and the
-- columns are judged by the view's definition (legacy.ts).
-- No parameters.
-- One row per (view, catalog relation):
--   object     : "view public.v" / "materialized view public.m"
--   relation   : the catalog relation, qualified: "pg_catalog.pg_class"
--   columns    : that relation's columns on this server
--   definition : pg_get_viewdef of the view
SELECT DISTINCT (o.type || ' ' || o.identity) AS object,
       pg_catalog.quote_ident(rn.nspname) || '.' || pg_catalog.quote_ident(rc.relname) AS relation,
       ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a
              WHERE a.attrelid = rc.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns,
       pg_catalog.pg_get_viewdef(v.oid) AS definition
  FROM pg_catalog.pg_class v
  JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid AND r.rulename = '_RETURN'
  CROSS JOIN LATERAL pg_catalog.regexp_matches(r.ev_action::text, ':relid (\d+)', 'g') AS m
  JOIN pg_catalog.pg_class rc ON rc.oid = m[1]::oid
  JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
  CROSS JOIN LATERAL pg_catalog.pg_identify_object('pg_catalog.pg_class'::regclass, v.oid, 0) AS o
 WHERE v.oid >= 16384
   AND v.relkind IN ('v', 'm')
   AND rn.nspname IN ('pg_catalog', 'information_schema')
   AND o.schema NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = v.oid AND d.deptype = 'e')
 ORDER BY 1, 2;
