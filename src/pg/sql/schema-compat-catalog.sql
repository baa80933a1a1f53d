-- Every type and every cast of the TARGET cluster, for the schema --existing
-- compatibility check (a few hundred rows; read once).
-- No parameters.
--   kind = 'type': oid, typtype (b base, e enum, d domain, c composite, r range, p pseudo),
--                  category (typcategory: S string, N numeric, A array, ...), elem (array element), base (domain base)
--   kind = 'cast': source, target oids, context (i implicit, a assignment, e explicit)
SELECT 'type' AS kind, t.oid::int8 AS oid, t.typtype::text AS typtype, t.typcategory::text AS category,
       t.typelem::int8 AS elem, t.typbasetype::int8 AS base,
       NULL::int8 AS source, NULL::int8 AS target, NULL::text AS context
  FROM pg_catalog.pg_type t
UNION ALL
SELECT 'cast', NULL, NULL, NULL, NULL, NULL, c.castsource::int8, c.casttarget::int8, c.castcontext::text
  FROM pg_catalog.pg_cast c;
