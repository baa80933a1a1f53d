-- Built-in types (pg_catalog) the user's objects are made of, to be looked up
-- on the target (legacy-missing-types.sql): a type a newer version removed
-- (abstime, reltime, tinterval from 12) makes every object using it fail to
-- restore, and the objects built on those in turn.
-- No parameters.
-- One row per (object, type):
--   object : kind and qualified name as pg_identify_object gives them, e.g.
--            "table column public.t.c", "function public.f(abstime)", "type public.d"
--   type   : format_type of the built-in type, e.g. "abstime", "reltime[]"
WITH uses (classid, objid, objsubid, typ) AS (
  -- Columns of tables, views, materialized views, composite and foreign tables.
  SELECT 'pg_catalog.pg_class'::regclass::oid, a.attrelid, a.attnum::int, a.atttypid
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
   WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  -- Domains and ranges over a built-in type.
  SELECT 'pg_catalog.pg_type'::regclass::oid, t.oid, 0, t.typbasetype
    FROM pg_catalog.pg_type t WHERE t.typtype = 'd'
  UNION ALL
  SELECT 'pg_catalog.pg_type'::regclass::oid, r.rngtypid, 0, r.rngsubtype
    FROM pg_catalog.pg_range r
  UNION ALL
  -- Functions' arguments and results.
  SELECT 'pg_catalog.pg_proc'::regclass::oid, p.oid, 0, x.typ
    FROM pg_catalog.pg_proc p,
         LATERAL unnest(pg_catalog.array_append(COALESCE(p.proallargtypes, p.proargtypes::oid[]), p.prorettype)) AS x(typ)
  UNION ALL
  -- Operators' operands and results, aggregates' states, casts.
  SELECT 'pg_catalog.pg_operator'::regclass::oid, o.oid, 0, x.typ
    FROM pg_catalog.pg_operator o, LATERAL unnest(ARRAY[o.oprleft, o.oprright, o.oprresult]) AS x(typ)
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::regclass::oid, g.aggfnoid, 0, g.aggtranstype
    FROM pg_catalog.pg_aggregate g
  UNION ALL
  SELECT 'pg_catalog.pg_cast'::regclass::oid, k.oid, 0, x.typ
    FROM pg_catalog.pg_cast k, LATERAL unnest(ARRAY[k.castsource, k.casttarget]) AS x(typ)
)
SELECT DISTINCT (o.type || ' ' || o.identity) AS object,
       pg_catalog.format_type(u.typ, NULL) AS type
  FROM uses u
  JOIN pg_catalog.pg_type t ON t.oid = u.typ
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(u.classid, u.objid, u.objsubid) AS o
 WHERE u.objid >= 16384
   AND t.typnamespace = 'pg_catalog'::regnamespace
   AND o.schema IS NOT NULL
   AND o.schema NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND o.schema NOT LIKE 'pg\_toast%'
   AND o.schema NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = u.classid AND d.objid = u.objid AND d.deptype = 'e')
 ORDER BY 2, 1;
