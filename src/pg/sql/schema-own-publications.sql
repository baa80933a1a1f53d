-- pgshift's own publications (pgshift_<db>, pgshift_<db>_rev) and their
-- table memberships, keyed as pg_dump's table of contents names objects:
-- the catalog's oid and the object's oid. Sources 10+.
-- No parameters.
--   k : "<catalog oid> <object oid>"
SELECT 'pg_catalog.pg_publication'::regclass::oid::text || ' ' || p.oid::text AS k
  FROM pg_catalog.pg_publication p
 WHERE p.pubname LIKE 'pgshift\_%'
UNION ALL
SELECT 'pg_catalog.pg_publication_rel'::regclass::oid::text || ' ' || r.oid::text
  FROM pg_catalog.pg_publication_rel r
  JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
 WHERE p.pubname LIKE 'pgshift\_%';
