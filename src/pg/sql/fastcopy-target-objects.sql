-- Which post-data objects already exist on the target (a resumed fast copy
-- makes only the missing ones).
-- $1::text[] : kinds (index | constraint | trigger | rule | policy)
-- $2::text[] : schemas (of the index; of the table for the other kinds)
-- $3::text[] : table names (ignored for index)
-- $4::text[] : object names
-- Returns: i (1-based position in the arrays) of each object that exists,
-- and validated (constraints: convalidated; else true).
SELECT w.i::int AS i,
       coalesce(con.convalidated, true) AS validated
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS w(kind, schema, tab, name, i)
  JOIN pg_catalog.pg_namespace n ON n.nspname = w.schema
  LEFT JOIN pg_catalog.pg_class t ON t.relnamespace = n.oid AND t.relname = w.tab AND w.kind <> 'index'
  LEFT JOIN pg_catalog.pg_constraint con ON w.kind = 'constraint' AND con.conrelid = t.oid AND con.conname = w.name
 WHERE CASE w.kind
         WHEN 'index' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_class i WHERE i.relnamespace = n.oid AND i.relname = w.name AND i.relkind IN ('i', 'I'))
         WHEN 'constraint' THEN con.oid IS NOT NULL
         WHEN 'trigger' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = t.oid AND g.tgname = w.name)
         WHEN 'rule' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite r WHERE r.ev_class = t.oid AND r.rulename = w.name)
         WHEN 'policy' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = t.oid AND p.polname = w.name)
         ELSE false
       END;
