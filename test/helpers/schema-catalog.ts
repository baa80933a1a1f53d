// A catalog-derived description of a database's schema, independent of
// pgshift's own queries: tests compare source and target with it.

import type { EmbeddedCluster } from '../../src/embedded/cluster.js';

const DEFINITIONS_SQL = `
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
)
SELECT 'relation ' || quote_ident(nspname) || '.' || quote_ident(relname) || ' ' || relkind::text AS d FROM rels
UNION ALL
SELECT 'column ' || quote_ident(r.nspname) || '.' || quote_ident(r.relname) || '.' || quote_ident(a.attname)
       || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
       -- 17+ marks identity on partitions too (inherited from the parent): compare the parent's only.
       || CASE WHEN a.attidentity <> '' AND NOT r.relispartition THEN ' identity ' || a.attidentity::text ELSE '' END
       || CASE WHEN a.attgenerated <> '' THEN ' generated' ELSE '' END
  FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE r.relkind IN ('r', 'p', 'v', 'c')
UNION ALL
SELECT 'constraint ' || quote_ident(r.nspname) || '.' || quote_ident(r.relname) || ' ' || quote_ident(co.conname) || ' '
       || pg_get_constraintdef(co.oid) || CASE WHEN co.condeferrable THEN ' deferrable' ELSE '' END
  FROM pg_constraint co JOIN rels r ON r.oid = co.conrelid
 WHERE co.contype <> 'n'
UNION ALL
SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN rels r ON r.oid = i.indrelid
UNION ALL
SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
SELECT 'type ' || format_type(t.oid, NULL) || ' ' || t.typtype::text
       || coalesce(' ' || (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
       || CASE WHEN t.typtype = 'd' THEN ' over ' || format_type(t.typbasetype, t.typtypmod) ELSE '' END
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
   AND t.typtype IN ('e', 'd', 'c') AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
UNION ALL
SELECT 'domain-check ' || format_type(co.contypid, NULL) || ' ' || pg_get_constraintdef(co.oid)
  FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
 WHERE co.contypid <> 0 AND co.contype = 'c' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'function ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'extension ' || extname FROM pg_extension
ORDER BY 1`;

/** Sorted, human-readable definitions of every user relation, column, constraint, index, trigger, type and function. */
export async function schemaDefinitions(c: EmbeddedCluster, db: string): Promise<string[]> {
  const rows = await c.sql<{ d: string }>(DEFINITIONS_SQL, [], db);
  return rows.map((r) => r.d);
}

/** Names of the user tables of a database, "schema.table", sorted. */
export async function userTables(c: EmbeddedCluster, db: string): Promise<string[]> {
  const rows = await c.sql<{ t: string }>(
    `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`, [], db);
  return rows.map((r) => r.t);
}

export async function databaseExists(c: EmbeddedCluster, db: string): Promise<boolean> {
  const rows = await c.sql('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
  return rows.length === 1;
}
