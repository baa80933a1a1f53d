-- Of these type names (format_type text of built-in types), the ones this
-- server does not have. Run on the TARGET.
-- $1::text[] : type names, e.g. "abstime", "reltime[]"
-- One row per missing type: type
SELECT n.name AS type
  FROM unnest($1::text[]) AS n(name)
 WHERE pg_catalog.to_regtype(n.name) IS NULL
 ORDER BY 1;
