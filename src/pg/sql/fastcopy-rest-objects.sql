-- Names of triggers, rules and policies of the post-data part, read on the
-- source, so a resumed fast copy can tell whether they were already made.
-- $1::oid[] : OIDs from pg_dump's table of contents (pg_trigger, pg_rewrite
--             or pg_policy rows)
-- Returns: kind (trigger | rule | policy), table_schema, table_name, name.
SELECT 'trigger' AS kind, n.nspname AS table_schema, t.relname AS table_name, g.tgname AS name
  FROM pg_catalog.pg_trigger g
  JOIN pg_catalog.pg_class t ON t.oid = g.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE g.oid = ANY ($1::oid[])
UNION ALL
SELECT 'rule', n.nspname, t.relname, r.rulename
  FROM pg_catalog.pg_rewrite r
  JOIN pg_catalog.pg_class t ON t.oid = r.ev_class
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE r.oid = ANY ($1::oid[])
UNION ALL
SELECT 'policy', n.nspname, t.relname, p.polname
  FROM pg_catalog.pg_policy p
  JOIN pg_catalog.pg_class t ON t.oid = p.polrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace
 WHERE p.oid = ANY ($1::oid[]);
