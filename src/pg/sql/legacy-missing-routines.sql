-- Of these built-in functions and operators (legacy-builtin-routines.sql),
-- the ones this server cannot give the objects that use them. Run on the
-- TARGET. One named by its exact signature (an aggregate's state function)
-- must exist exactly so. One resolved again from an expression's text must
-- exist exactly, or there must be one the text still resolves to, as far as
-- can be told without parsing it: a function of that name and argument
-- count (array_append is now over anycompatible types, and a view calling
-- it restores); an operator of that name and kind whose operand types take
-- the old ones as they are, by an implicit cast, or as a polymorphic type
-- (the prefix !!(NONE,tsquery) does not take a bigint).
-- $1::jsonb : [{kind, signature, exact, name, args}] as legacy-builtin-routines.sql returns them
-- One row per missing one: kind, signature, exact
WITH want AS (
  SELECT w.kind, w.signature, w.exact, w.name, w.args
    FROM jsonb_to_recordset($1::jsonb) AS w(kind text, signature text, exact boolean, name text, args text[])
),
-- Does operand type "have" (this server's oid) take a value of type "given" (a name from the source)?
takes AS (
  SELECT t.oid AS have, g.name AS given
    FROM pg_catalog.pg_type t
   CROSS JOIN (SELECT DISTINCT unnest(args) AS name FROM want WHERE kind = 'operator') g
   WHERE t.oid = pg_catalog.to_regtype(g.name)
      OR (t.typtype = 'p' AND t.typname LIKE 'any%')
      OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast c
                  WHERE c.castsource = pg_catalog.to_regtype(g.name) AND c.casttarget = t.oid AND c.castcontext = 'i')
)
SELECT w.kind, w.signature, w.exact
  FROM want w
 WHERE CASE w.kind
         WHEN 'function' THEN
           pg_catalog.to_regprocedure('pg_catalog.' || w.signature) IS NULL
           AND (w.exact OR NOT EXISTS (
             SELECT 1 FROM pg_catalog.pg_proc p
              WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.proname = w.name
                AND p.pronargs = COALESCE(cardinality(w.args), 0)))
         ELSE
           pg_catalog.to_regoperator('pg_catalog.' || w.signature) IS NULL
           AND (w.exact OR NOT EXISTS (
             SELECT 1 FROM pg_catalog.pg_operator o
              WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprname = w.name
                AND (o.oprleft = 0) = (w.args[1] IS NULL) AND (o.oprright = 0) = (w.args[2] IS NULL)
                AND (w.args[1] IS NULL OR EXISTS (SELECT 1 FROM takes k WHERE k.have = o.oprleft AND k.given = w.args[1]))
                AND (w.args[2] IS NULL OR EXISTS (SELECT 1 FROM takes k WHERE k.have = o.oprright AND k.given = w.args[2]))))
       END
 ORDER BY 1, 2;
