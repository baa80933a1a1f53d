-- User-defined postfix operators (a left operand and no right one), which
-- PostgreSQL 14 removed: CREATE OPERATOR without RIGHTARG fails there.
-- No parameters.
-- One row per operator: signature (regoperator text, e.g. "public.%%(numeric,NONE)"), function (the one it calls)
SELECT o.oid::pg_catalog.regoperator::text AS signature,
       o.oprcode::pg_catalog.regprocedure::text AS function
  FROM pg_catalog.pg_operator o
  JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
 WHERE o.oprright = 0 AND o.oprleft <> 0
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_operator'::regclass AND d.objid = o.oid AND d.deptype = 'e')
 ORDER BY 1;
