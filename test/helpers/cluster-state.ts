// What a refused command must leave untouched, and configs for any two
// clusters: a snapshot of everything pgshift could create or change on a
// cluster (databases with their ACLs and settings, roles, slots, subscriptions, and per database
// publications, schemas, relations with their replica identity, functions,
// types, extensions, row counts), compared before and after.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { quoteIdent } from '../../src/pg/quote.js';

export async function snapshot(c: EmbeddedCluster): Promise<string> {
  const lines: string[] = [];
  const add = async (q: string, db = 'postgres'): Promise<void> => {
    lines.push(`${db}: ${q}`, ...(await c.sql<{ v: string }>(q, [], db)).map((r) => r.v));
  };
  // With their ACLs and per-database settings: what a revoke or read-only fence changes.
  await add("SELECT datname::text || ' ' || coalesce(datacl::text, '') AS v FROM pg_database ORDER BY 1");
  await add("SELECT coalesce(d.datname::text, '*') || ' ' || s.setrole::regrole::text || ' ' || array_to_string(s.setconfig, ',') AS v FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase ORDER BY 1");
  await add("SELECT slot_name::text || ' ' || coalesce(database, '') AS v FROM pg_replication_slots ORDER BY 1");
  await add('SELECT subname::text || subenabled::text AS v FROM pg_subscription ORDER BY 1');
  await add('SELECT rolname::text || rolsuper::text || rolreplication::text || rolcanlogin::text AS v FROM pg_roles ORDER BY 1');
  await add("SELECT r.rolname::text || ' in ' || g.rolname::text AS v FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member JOIN pg_roles g ON g.oid = m.roleid ORDER BY 1");
  const dbs = await c.sql<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datallowconn ORDER BY 1');
  for (const { d } of dbs) {
    await add('SELECT pubname::text AS v FROM pg_publication ORDER BY 1', d);
    await add('SELECT nspname::text AS v FROM pg_namespace ORDER BY 1', d);
    await add('SELECT extname::text || extversion AS v FROM pg_extension ORDER BY 1', d);
    await add("SELECT c.oid::regclass::text || ':' || c.relkind::text || ':' || c.relreplident::text AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1", d);
    await add("SELECT p.oid::regprocedure::text AS v FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1", d);
    await add("SELECT t.oid::regtype::text AS v FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1", d);
    await add('SELECT relacl::text AS v FROM pg_class WHERE relacl IS NOT NULL AND relnamespace = \'public\'::regnamespace ORDER BY 1', d);
    const tables = await c.sql<{ s: string; n: string }>(
      "SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2", [], d);
    for (const t of tables) await add(`SELECT count(*)::text AS v FROM ${quoteIdent(t.s)}.${quoteIdent(t.n)}`, d);
  }
  return lines.join('\n');
}

export async function snapshots(...clusters: EmbeddedCluster[]): Promise<string[]> {
  return Promise.all(clusters.map((c) => snapshot(c)));
}

export interface SideSpec {
  cluster: EmbeddedCluster;
  /** The conn string as it goes into the file (key=value or URI); default: the cluster's params. */
  conn?: string;
  user?: string;
  /** Override the system_identifier written (default: the cluster's). */
  systemIdentifier?: string;
}

/** A pgshift.yml for any two clusters; passwords come from PGSHIFT_SOURCE_PASSWORD / PGSHIFT_TARGET_PASSWORD. */
export async function writeConfigFor(dir: string, file: string, source: SideSpec, target: SideSpec, databases: string[], extra = ''): Promise<string> {
  const side = async (s: SideSpec): Promise<string> => `  conn: ${JSON.stringify(s.conn ?? formatConninfo(s.cluster.params('postgres', s.user)))}
  password: \${PGSHIFT_${s === source ? 'SOURCE' : 'TARGET'}_PASSWORD}
  system_identifier: "${s.systemIdentifier ?? await s.cluster.systemIdentifier()}"`;
  const text = `source:
${await side(source)}
target:
${await side(target)}
databases:
${databases.length ? databases.map((d) => `  ${JSON.stringify(d)}: {}`).join('\n') : '  {}'}
${extra}`;
  const path = join(dir, file);
  writeFileSync(path, text);
  return path;
}
