-- Tables a publication publishes UPDATE and DELETE for without a usable
-- replica identity: PostgreSQL refuses every UPDATE and DELETE on them ("cannot
-- update table ... because it does not have a replica identity and publishes
-- updates"). The listed tables, and every partition of a listed partitioned
-- table (published with it, including one created after the publication).
-- $1::text : publication name
-- One row per such table: schema, name
WITH RECURSIVE published (relid) AS (
  SELECT r.prrelid
    FROM pg_catalog.pg_publication_rel r
    JOIN pg_catalog.pg_publication p ON p.oid = r.prpubid
   WHERE p.pubname = $1 AND (p.pubupdate OR p.pubdelete)
  UNION
  SELECT i.inhrelid
    FROM published
    JOIN pg_catalog.pg_class pc ON pc.oid = published.relid AND pc.relkind = 'p'
    JOIN pg_catalog.pg_inherits i ON i.inhparent = published.relid
)
SELECT n.nspname AS schema, c.relname AS name
  FROM published
  JOIN pg_catalog.pg_class c ON c.oid = published.relid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'r'
   AND (c.relreplident = 'n'
        OR (c.relreplident = 'd' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary))
        OR (c.relreplident = 'i' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)))
 ORDER BY 1, 2;
