-- Of these built-in functions and operators (unqualified regprocedure /
-- regoperator text from the source), the ones this server does not have in
-- pg_catalog. Run on the TARGET.
-- $1::text[] : kinds ('function' | 'operator'), $2::text[] : signatures (pairwise)
-- One row per missing one: kind, signature
SELECT w.kind, w.signature
  FROM unnest($1::text[], $2::text[]) AS w(kind, signature)
 WHERE CASE w.kind
         WHEN 'function' THEN pg_catalog.to_regprocedure('pg_catalog.' || w.signature) IS NULL
         ELSE pg_catalog.to_regoperator('pg_catalog.' || w.signature) IS NULL
       END
 ORDER BY 1, 2;
