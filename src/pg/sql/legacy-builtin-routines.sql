-- Built-in functions and operators (pg_catalog) the user's objects call, to
-- be looked up on the target (legacy-missing-routines.sql): one a newer
-- version removed or changed (the factorial operators ! and !!, the
-- geometric containment operators @ and ~, array_append(anyarray,
-- anyelement) as an aggregate's state function: 14) makes the object fail
-- to restore. Read from the stored expression trees of views and rules,
-- column defaults, CHECK constraints, index expressions and predicates,
-- trigger conditions and policies (pg_dump writes those as text, which the
-- target resolves by name and argument types again), and from the support
-- functions of user aggregates, operators and casts (pg_dump names those by
-- their exact signature). (The bodies of SQL and PL functions are text, not
-- checked: pg_dump restores them unchecked, and they fail when called.)
-- No parameters.
-- One row per (object, routine):
--   object    : kind and qualified name as pg_identify_object gives them, e.g. "view public.v"
--   kind      : 'function' or 'operator'
--   signature : regprocedure / regoperator text, unqualified (pg_catalog is
--               always on the search path), e.g. "numeric_fac(bigint)", "!(bigint,NONE)"
--   exact     : named by its exact signature (true), or resolved again from text (false)
--   name      : the function's or operator's name
--   args      : argument types (format_type); for an operator [left, right], NULL for none
WITH trees (classid, objid, objsubid, owner_class, owner, tree) AS (
  -- A view's (or materialized view's) query is its _RETURN rule.
  SELECT 'pg_catalog.pg_class'::regclass::oid, r.ev_class, 0, 'pg_catalog.pg_class'::regclass::oid, r.ev_class, r.ev_action::text
    FROM pg_catalog.pg_rewrite r WHERE r.rulename = '_RETURN'
  UNION ALL
  SELECT 'pg_catalog.pg_rewrite'::regclass::oid, r.oid, 0, 'pg_catalog.pg_class'::regclass::oid, r.ev_class,
         COALESCE(r.ev_action::text, '') || COALESCE(r.ev_qual::text, '')
    FROM pg_catalog.pg_rewrite r WHERE r.rulename <> '_RETURN'
  UNION ALL
  SELECT 'pg_catalog.pg_class'::regclass::oid, d.adrelid, d.adnum::int, 'pg_catalog.pg_class'::regclass::oid, d.adrelid, d.adbin::text
    FROM pg_catalog.pg_attrdef d
  UNION ALL
  SELECT 'pg_catalog.pg_constraint'::regclass::oid, c.oid, 0,
         CASE WHEN c.conrelid <> 0 THEN 'pg_catalog.pg_class'::regclass ELSE 'pg_catalog.pg_type'::regclass END::oid,
         CASE WHEN c.conrelid <> 0 THEN c.conrelid ELSE c.contypid END, c.conbin::text
    FROM pg_catalog.pg_constraint c WHERE c.conbin IS NOT NULL
  UNION ALL
  SELECT 'pg_catalog.pg_class'::regclass::oid, i.indexrelid, 0, 'pg_catalog.pg_class'::regclass::oid, i.indrelid,
         COALESCE(i.indexprs::text, '') || COALESCE(i.indpred::text, '')
    FROM pg_catalog.pg_index i WHERE i.indexprs IS NOT NULL OR i.indpred IS NOT NULL
  UNION ALL
  SELECT 'pg_catalog.pg_trigger'::regclass::oid, t.oid, 0, 'pg_catalog.pg_class'::regclass::oid, t.tgrelid, t.tgqual::text
    FROM pg_catalog.pg_trigger t WHERE t.tgqual IS NOT NULL
  UNION ALL
  SELECT 'pg_catalog.pg_policy'::regclass::oid, p.oid, 0, 'pg_catalog.pg_class'::regclass::oid, p.polrelid,
         COALESCE(p.polqual::text, '') || COALESCE(p.polwithcheck::text, '')
    FROM pg_catalog.pg_policy p
),
refs (classid, objid, objsubid, owner_class, owner, kind, ref) AS (
  -- Node fields naming a function (FuncExpr, OpExpr's implementation,
  -- Aggref, WindowFunc) or an operator (OpExpr and its kin, sort clauses).
  SELECT t.classid, t.objid, t.objsubid, t.owner_class, t.owner,
         CASE WHEN m[1] IN ('opno', 'eqop', 'sortop') THEN 'operator' ELSE 'function' END,
         m[2]::oid
    FROM trees t, LATERAL pg_catalog.regexp_matches(t.tree, ':(funcid|opfuncid|aggfnoid|winfnoid|opno|eqop|sortop) (\d+)', 'g') AS m
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::regclass::oid, g.aggfnoid, 0, 'pg_catalog.pg_proc'::regclass::oid, g.aggfnoid, 'function', f.ref
    FROM pg_catalog.pg_aggregate g,
         LATERAL unnest(ARRAY[g.aggtransfn, g.aggfinalfn, g.aggcombinefn, g.aggserialfn, g.aggdeserialfn,
                              g.aggmtransfn, g.aggminvtransfn, g.aggmfinalfn]::oid[]) AS f(ref)
  UNION ALL
  SELECT 'pg_catalog.pg_proc'::regclass::oid, g.aggfnoid, 0, 'pg_catalog.pg_proc'::regclass::oid, g.aggfnoid, 'operator', g.aggsortop
    FROM pg_catalog.pg_aggregate g
  UNION ALL
  SELECT 'pg_catalog.pg_operator'::regclass::oid, o.oid, 0, 'pg_catalog.pg_operator'::regclass::oid, o.oid, 'function', f.ref
    FROM pg_catalog.pg_operator o, LATERAL unnest(ARRAY[o.oprcode, o.oprrest, o.oprjoin]::oid[]) AS f(ref)
  UNION ALL
  SELECT 'pg_catalog.pg_cast'::regclass::oid, k.oid, 0, 'pg_catalog.pg_cast'::regclass::oid, k.oid, 'function', k.castfunc
    FROM pg_catalog.pg_cast k
)
SELECT DISTINCT (o.type || ' ' || o.identity) AS object,
       r.kind,
       CASE r.kind WHEN 'function' THEN r.ref::pg_catalog.regprocedure::text
                   ELSE r.ref::pg_catalog.regoperator::text END AS signature,
       r.classid IN ('pg_catalog.pg_proc'::regclass, 'pg_catalog.pg_operator'::regclass, 'pg_catalog.pg_cast'::regclass) AS exact,
       CASE r.kind WHEN 'function' THEN (SELECT p.proname::text FROM pg_catalog.pg_proc p WHERE p.oid = r.ref)
                   ELSE (SELECT p.oprname::text FROM pg_catalog.pg_operator p WHERE p.oid = r.ref) END AS name,
       CASE r.kind
         WHEN 'function' THEN ARRAY(SELECT pg_catalog.format_type(a.t, NULL)
                                      FROM pg_catalog.pg_proc p, unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a(t, n)
                                     WHERE p.oid = r.ref ORDER BY a.n)
         ELSE (SELECT ARRAY[CASE WHEN p.oprleft = 0 THEN NULL ELSE pg_catalog.format_type(p.oprleft, NULL) END,
                            CASE WHEN p.oprright = 0 THEN NULL ELSE pg_catalog.format_type(p.oprright, NULL) END]
                 FROM pg_catalog.pg_operator p WHERE p.oid = r.ref)
       END AS args
  FROM refs r
  CROSS JOIN LATERAL pg_catalog.pg_identify_object(r.classid, r.objid, r.objsubid) AS o
 WHERE r.objid >= 16384
   AND r.ref <> 0
   AND CASE r.kind
         WHEN 'function' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc p
                                       WHERE p.oid = r.ref AND p.pronamespace = 'pg_catalog'::regnamespace)
         ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_operator p
                       WHERE p.oid = r.ref AND p.oprnamespace = 'pg_catalog'::regnamespace)
       END
   AND o.schema IS NOT NULL
   AND o.schema NOT IN ('pg_catalog', 'information_schema', 'pgshift')
   AND o.schema NOT LIKE 'pg\_toast%'
   AND o.schema NOT LIKE 'pg\_temp\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = r.owner_class AND d.objid = r.owner AND d.deptype = 'e')
 ORDER BY 3, 1;
