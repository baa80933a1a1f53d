// PostgreSQL's own regression database (test/helpers/regression-corpus.ts),
// migrated as a new user would, through the CLI only: check (every refusal
// foreseen), the source adjustments check asked for and nothing else, roles,
// run, application writes on the source, verify, switchover, application
// writes on the new primary, verify, cleanup. Nobody here wrote this schema:
// 600 tables, inheritance trees, partitions, materialized views, large
// objects, generated columns, domains, exotic types.
//
// What is asserted is what a user cares about, with the test's own queries:
// the application's statements work on both sides before, during and after;
// every table and sequence is identical; materialized views are populated
// as on the source; the database's settings arrived; replica identities are
// back to the source's originals on both sides; nothing of pgshift is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, qi, type CliResult } from '../helpers/harness.js';
import { writeConfigFor } from '../helpers/cluster-state.js';
import { corpusCluster, CORPUS_DATABASE } from '../helpers/regression-corpus.js';
import { EmbeddedCluster } from '../../src/embedded/cluster.js';
import type { CheckReport } from '../../src/steps/check.js';

const TARGETS = (process.env.PGSHIFT_CORPUS_TARGETS ?? '17,18').split(',').map(Number);
const MINUTES = 60_000;

let source: EmbeddedCluster;
const targets = new Map<number, EmbeddedCluster>();
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pgshift-corpus-'));
  const started = await Promise.all([corpusCluster(), ...TARGETS.map((t) => EmbeddedCluster.start({ major: t, name: `corpus-target-${t}` }))]);
  source = started[0]!;
  TARGETS.forEach((t, i) => targets.set(t, started[i + 1]!));
});

after(async () => {
  await Promise.all([source?.destroy(), ...[...targets.values()].map((t) => t.destroy())]);
  rmSync(dir, { recursive: true, force: true });
});

const env = (target: EmbeddedCluster): Record<string, string> => ({ PGSHIFT_SOURCE_PASSWORD: source.password, PGSHIFT_TARGET_PASSWORD: target.password });

function ok(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  assert.doesNotMatch(r.stderr, /^\s+at .*\(.*:\d+:\d+\)$|node:internal/m, `${what} printed a stack trace`);
  return r;
}

/** A fresh copy of the corpus with the database-level properties CREATE DATABASE ... TEMPLATE does not copy. */
async function copyCorpus(db: string): Promise<void> {
  await source.sql(`CREATE DATABASE ${qi(db)} TEMPLATE ${qi(CORPUS_DATABASE)}`);
  const settings = await source.sql<{ s: string }>(
    `SELECT x AS s FROM pg_db_role_setting s, unnest(s.setconfig) x
      WHERE s.setrole = 0 AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = $1)`, [CORPUS_DATABASE]);
  for (const { s } of settings) {
    const [name, ...value] = s.split('=');
    await source.sql(`ALTER DATABASE ${qi(db)} SET ${qi(name!)} = '${value.join('=').replace(/'/g, "''")}'`);
  }
  await source.sql(`COMMENT ON DATABASE ${qi(db)} IS 'the regression corpus, as pg_regress left it'`);
}

/**
 * The adjustments check asked for, made on the source as its fix text says
 * (each a FAIL the test knows how to carry out; any other FAIL fails the test).
 */
async function adjustSource(db: string, report: CheckReport): Promise<string[]> {
  const done: string[] = [];
  for (const f of report.findings.filter((x) => x.severity === 'fail')) {
    assert.equal(f.side, 'source', `${f.id} must be fixed on the source`);
    assert.match(f.fix ?? '', /^On the source/, f.id);
    if (f.id === 'restore.lz4') {
      for (const o of f.objects) {
        const [schema, table, column] = o.split('.');
        const kind = (await source.sql<{ k: string }>('SELECT relkind::text AS k FROM pg_class WHERE oid = $1::regclass', [`${qi(schema!)}.${qi(table!)}`], db))[0]!.k;
        const alter = kind === 'm' ? 'ALTER MATERIALIZED VIEW' : 'ALTER TABLE';
        await source.sql(`${alter} ${qi(schema!)}.${qi(table!)} ALTER COLUMN ${qi(column!)} SET COMPRESSION pglz`, [], db);
      }
    } else if (f.id === 'restore.generated-child') {
      for (const o of f.objects) {
        const m = /^([^.]+)\.([^.]+)\.(\S+) \(parent ([^.]+)\.([^.]+)\)$/.exec(o);
        assert.ok(m, o);
        const [, s, t, c, ps, pt] = m;
        const child = `${qi(s!)}.${qi(t!)}`;
        const parent = `${qi(ps!)}.${qi(pt!)}`;
        const [{ bound }] = await source.sql<{ bound: string | null }>(
          'SELECT pg_get_expr(relpartbound, oid) AS bound FROM pg_class WHERE oid = $1::regclass', [child], db) as [{ bound: string | null }];
        const [unlink, relink] = bound
          ? [`ALTER TABLE ${parent} DETACH PARTITION ${child}`, `ALTER TABLE ${parent} ATTACH PARTITION ${child} ${bound}`]
          : [`ALTER TABLE ${child} NO INHERIT ${parent}`, `ALTER TABLE ${child} INHERIT ${parent}`];
        await source.sql(`BEGIN; ${unlink}; ALTER TABLE ${child} ALTER COLUMN ${qi(c!)} DROP EXPRESSION; ${relink}; COMMIT;`, [], db);
      }
    } else if (f.id === 'restore.c-library') {
      // Re-created with the library named as $libdir/<file>, as the fix says.
      for (const o of f.objects) {
        const signature = o.slice(0, o.lastIndexOf(': '));
        const [{ def }] = await source.sql<{ def: string }>('SELECT pg_get_functiondef($1::regprocedure) AS def', [signature], db) as [{ def: string }];
        await source.sql(def.replace(/AS '\/[^']*\/([^'/]+?)(?:\.so)?'/, "AS '$$libdir/$1'"), [], db);
      }
    } else {
      assert.fail(`check FAILed with ${f.id} (${f.title}), which the corpus test has no adjustment for`);
    }
    done.push(f.id);
  }
  return done;
}

/**
 * Statements an application of this database runs: through inheritance
 * parents into children pgshift does not replicate (f_star has a polygon
 * and no key), on key-less tables, on partitioned tables, on large objects.
 */
async function applicationWrites(c: EmbeddedCluster, db: string, round: number): Promise<void> {
  await c.sql(`
    UPDATE a_star SET aa = coalesce(aa, 0) + 1 WHERE class = 'f';
    UPDATE f_star SET e = coalesce(e, 0) + 1, a = 'round ${round}';
    DELETE FROM f_star WHERE aa = -${round};
    INSERT INTO f_star (class, aa, e) VALUES ('f', -${round}, ${round});
    INSERT INTO a_star (class, aa) VALUES ('a', 1000 + ${round});
    UPDATE tenk1 SET stringu2 = 'r${round}' WHERE unique1 < 20;
    DELETE FROM onek WHERE unique1 = ${round};
    INSERT INTO pagg_tab SELECT 10000 + ${round} * 10 + i, ${round}, to_char(i, 'FM0000'), i FROM generate_series(0, 9) i;
    UPDATE pagg_tab SET d = d + 1 WHERE a < 5;
    DELETE FROM pagg_tab WHERE a = 10000 + ${round} * 10;
  `, [], db);
}

/**
 * Per-table digests (row count and md5 of the sorted rows), from the test's
 * own query. Rows as jsonb, whose keys are the column names in a fixed order:
 * a restored inheritance child has its columns in another order than the
 * source's (pg_dump puts inherited columns first), which check warns about.
 */
async function tableDigests(c: EmbeddedCluster, db: string): Promise<Map<string, string>> {
  const tables = await c.sql<{ s: string; t: string }>(
    `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`, [], db);
  const out = new Map<string, string>();
  const client = await c.client(db);
  try {
    for (const { s, t } of tables) {
      const r = await client.query<{ d: string }>(
        `SELECT count(*)::text || ' ' || coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '') AS d FROM (SELECT to_jsonb(x)::text AS r FROM ${qi(s)}.${qi(t)} x) y`);
      out.set(`${s}.${t}`, r.rows[0]!.d);
    }
  } finally {
    await client.end();
  }
  return out;
}

async function sequenceValues(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ v: string }>(
    "SELECT schemaname || '.' || sequencename || ' ' || coalesce(last_value::text, 'null') AS v FROM pg_sequences WHERE schemaname NOT IN ('pgshift') ORDER BY 1", [], db)).map((r) => r.v);
}

async function matviews(c: EmbeddedCluster, db: string, from: 'stored' | 'definition' = 'stored'): Promise<string[]> {
  const views = await c.sql<{ s: string; n: string; p: boolean; def: string }>(
    `SELECT schemaname AS s, matviewname AS n, ispopulated AS p, rtrim(definition, '; ') AS def FROM pg_matviews ORDER BY 1, 2`, [], db);
  const out: string[] = [];
  for (const v of views) {
    const rows = from === 'stored' ? `${qi(v.s)}.${qi(v.n)}` : `(${v.def})`;
    const digest = v.p
      ? (await c.sql<{ d: string }>(`SELECT count(*)::text || ' ' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') AS d FROM ${rows} x`, [], db))[0]!.d
      : 'unpopulated';
    out.push(`${v.s}.${v.n}: ${digest}`);
  }
  return out;
}

async function replicaIdentities(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ v: string }>(
    `SELECT c.oid::regclass::text || ' ' || c.relreplident::text || coalesce(' ' || (SELECT i.indexrelid::regclass::text FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident), '') AS v
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgshift') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`, [], db)).map((r) => r.v);
}

async function databaseSettings(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ s: string }>(
    `SELECT coalesce(r.rolname, '-') || ': ' || x AS s FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) x
      WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = $1) ORDER BY 1`, [db])).map((r) => r.s);
}

async function publications(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ p: string }>('SELECT pubname AS p FROM pg_publication ORDER BY 1', [], db)).map((r) => r.p);
}

/** Everything of pgshift's on a cluster: publications, subscriptions, slots, origins, its schema anywhere. */
async function pgshiftObjects(c: EmbeddedCluster, db: string, userPublications: string[]): Promise<string[]> {
  const out: string[] = [];
  const add = async (q: string, d: string): Promise<void> => {
    out.push(...(await c.sql<{ v: string }>(q, [], d)).map((r) => `${d}: ${r.v}`));
  };
  await add("SELECT 'slot ' || slot_name AS v FROM pg_replication_slots", 'postgres');
  await add("SELECT 'subscription ' || subname AS v FROM pg_subscription", 'postgres');
  await add("SELECT 'origin ' || roname AS v FROM pg_replication_origin", 'postgres');
  for (const d of ['postgres', db]) {
    // The corpus's own publications (dump_pub_*) are the application's: the schema copies them.
    out.push(...(await c.sql<{ v: string }>('SELECT $1::text || \': publication \' || pubname AS v FROM pg_publication WHERE pubname <> ALL ($2::text[])', [d, userPublications], d)).map((r) => r.v));
    await add("SELECT 'schema ' || nspname AS v FROM pg_namespace WHERE nspname = 'pgshift'", d);
  }
  return out;
}

for (const t of TARGETS) {
  test(`15 -> ${t}: PostgreSQL's regression database migrates through the CLI, and the application keeps working`, { timeout: 40 * MINUTES }, async () => {
    const target = targets.get(t)!;
    const db = `regression_to_${t}`;
    await copyCorpus(db);
    const userPublications = await publications(source, db);
    assert.ok(userPublications.length > 0, 'the corpus has publications of its own');
    const config = await writeConfigFor(dir, `corpus-${t}.yml`, { cluster: source }, { cluster: target }, [db], 'switchover:\n  pause: revoke\n  max_pause: 30s\n');
    const cli = (args: string[], timeoutMs = 5 * MINUTES): Promise<CliResult> => runCli(['-c', config, ...args], { env: env(target), timeoutMs });

    // check foresees every refusal, each with the fix on the source.
    const first = await cli(['--json', 'check', db]);
    assert.equal(first.code, 1, `check must find what the target cannot restore:\n${first.stderr}`);
    const adjusted = await adjustSource(db, JSON.parse(first.stdout) as CheckReport);
    assert.ok(adjusted.includes('restore.lz4'), `the embedded ${t} has no lz4, the corpus has lz4 columns: ${adjusted}`);
    ok(await cli(['check', db]), 'check after the adjustments');

    const originalIdentities = await replicaIdentities(source, db);
    const sourceSettings = await databaseSettings(source, db);
    ok(await cli(['--yes', 'roles']), 'roles');
    ok(await cli(['run', db], 20 * MINUTES), 'run');
    assert.deepEqual(await databaseSettings(target, db), sourceSettings, 'the database settings reached the target');

    // The application's statements work on the live source while it replicates.
    await applicationWrites(source, db, 1);
    ok(await cli(['verify', db, '--mode', 'full'], 15 * MINUTES), 'verify before the switchover');

    ok(await cli(['--yes', 'switchover', db], 10 * MINUTES), 'switchover');

    // At the switchover point both sides hold the same data: every table (those
    // replication cannot carry were copied while writes were paused), every
    // sequence, every materialized view.
    const [s, tg] = await Promise.all([tableDigests(source, db), tableDigests(target, db)]);
    const differing = [...s.keys()].filter((k) => s.get(k) !== tg.get(k));
    const missing = [...s.keys()].filter((k) => !tg.has(k));
    assert.deepEqual({ differing: differing.slice(0, 20), missing }, { differing: [], missing: [] }, `${s.size} tables compared`);
    assert.ok(s.size > 500, `${s.size} tables`);
    assert.deepEqual(await sequenceValues(target, db), await sequenceValues(source, db), 'sequences');
    // Populated where the source's are, and refreshed: what each view's query
    // gives over the source's data (the source may hold a stale one: the
    // corpus's mvtest_bb was never refreshed after what it reads changed).
    assert.deepEqual(await matviews(target, db), await matviews(source, db, 'definition'), 'materialized views on the new primary: populated as on the source, and current');

    // The application's statements work on the new primary, whose writes flow back.
    await applicationWrites(target, db, 2);
    ok(await cli(['verify', db, '--mode', 'full'], 15 * MINUTES), 'verify after the switchover');

    ok(await cli(['--yes', 'cleanup', db], 10 * MINUTES), 'cleanup');
    assert.deepEqual(await replicaIdentities(source, db), originalIdentities, 'the source\'s replica identities are back to its originals');
    assert.deepEqual(await replicaIdentities(target, db), originalIdentities, 'the target\'s replica identities are the source\'s originals');
    assert.deepEqual(await pgshiftObjects(source, db, userPublications), [], 'nothing of pgshift is left on the source');
    assert.deepEqual(await pgshiftObjects(target, db, userPublications), [], 'nothing of pgshift is left on the target');
    assert.deepEqual(await publications(target, db), userPublications, 'the application\'s own publications are on the target too');

    // Once it is all over the application's statements still work on both sides.
    await applicationWrites(target, db, 3);
    await applicationWrites(source, db, 4);
  });
}
