-- The target's view of type names printed by the source's format_type():
-- each resolved by name (OIDs differ between clusters), with what the
-- compatibility check needs. Run on the TARGET.
-- $1::text[] : type names without typmod
--   name      : the name asked about
--   oid       : the type on this cluster, NULL when it has none by that name
SELECT n.name, pg_catalog.to_regtype(n.name)::oid::int8 AS oid
  FROM unnest($1::text[]) AS n(name);
