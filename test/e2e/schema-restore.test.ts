// What the target cannot restore, and what a failing child process says, on
// real clusters: PostgreSQL 15 from the system package (built with lz4, like
// the regression corpus's source) to an embedded 17 (built without lz4).
//   - a psql apply that stops at its first error while megabytes of script
//     are still unwritten surfaces psql's own ERROR line and the entry it
//     failed in, never a Node stack trace (EPIPE), and the database the run
//     created is dropped again (schema and fast copy alike);
//   - the database's own properties (settings, per-role settings in it,
//     privileges, comment, owner, connection limit) reach a database schema
//     creates, minus what the target cannot take (said, with its SQL); a
//     database schema did not create gets its differences reported, not
//     overwritten;
//   - check foresees what the restore refuses (lz4 columns, generated
//     columns of inheritance children, C functions whose library the target
//     cannot load) as FAILs naming the objects and the fix on the source;
//     schema refuses them before creating anything; once fixed on the source
//     as advised, the schema applies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, qi, type CliResult } from '../helpers/harness.js';
import { databaseExists } from '../helpers/schema-catalog.js';
import type { CheckReport } from '../../src/steps/check.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(15, 17);
});
after(async () => {
  await pair?.stop();
});

/** Nothing in the output of a command looks like a JavaScript stack trace or a raw pipe error. */
function noCrash(r: CliResult): void {
  assert.doesNotMatch(r.stderr, /EPIPE|Unhandled 'error' event|^\s+at .*\(.*:\d+:\d+\)$|node:internal/m, r.stderr);
}

test('a psql apply that fails early in a large script says what psql said, and drops the database the run created', async () => {
  const db = await pair.freshDatabase('early');
  const role = `early owner ${process.pid}`;
  await pair.source.sql(`CREATE ROLE ${qi(role)}`);
  try {
    // The schema owned by a role the target lacks is among the first entries;
    // a 4 MB comment further down keeps psql's stdin far from written when psql stops.
    await pair.source.sql(`
      CREATE SCHEMA aaa AUTHORIZATION ${qi(role)};
      CREATE TABLE public.zzz (id int PRIMARY KEY);
      DO $$ BEGIN EXECUTE format('COMMENT ON TABLE public.zzz IS %L', repeat('x', 4 * 1024 * 1024)); END $$;
    `, [], db);
    const config = await pair.writeConfig([db]);

    const r = await runCli(['-c', config, 'schema', db], { env: pair.env() });
    assert.equal(r.code, 1, r.stderr);
    noCrash(r);
    assert.match(r.stderr, new RegExp(`at SCHEMA aaa: psql exited with code \\d+:\\n\\s+psql:<stdin>:\\d+: ERROR:  role "${role}" does not exist`), r.stderr);
    assert.match(r.stderr, /hint: .*pgshift roles/);
    assert.equal(await databaseExists(pair.target, db), false, 'the database schema created must be dropped again');

    const f = await runCli(['-c', config, 'start', db, '--copy', 'fast'], { env: pair.env() });
    assert.equal(f.code, 1, f.stderr);
    noCrash(f);
    assert.match(f.stderr, new RegExp(`at SCHEMA aaa: psql exited with code \\d+:\\n\\s+psql:<stdin>:\\d+: ERROR:  role "${role}" does not exist`), f.stderr);
    assert.equal(await databaseExists(pair.target, db), false, 'the database fast copy created must be dropped again');
    const slots = await pair.source.sql('SELECT slot_name FROM pg_replication_slots');
    assert.deepEqual(slots, [], 'fast copy leaves no slot behind');
  } finally {
    await pair.source.dropDatabase(db);
    await pair.source.sql(`DROP ROLE ${qi(role)}`);
  }
});

test('check foresees what the target cannot restore, schema refuses it before creating anything, and the fix on the source works', async () => {
  const db = await pair.freshDatabase('restore');
  await pair.source.sql(`
    CREATE TABLE docs (id int PRIMARY KEY, body text COMPRESSION lz4);
    INSERT INTO docs SELECT g, repeat(md5(g::text), 200) FROM generate_series(1, 50) g;
    CREATE TABLE gparent (a int, b int);
    CREATE TABLE gchild (a int, b int GENERATED ALWAYS AS (a * 2) STORED) INHERITS (gparent);
    CREATE FUNCTION stamp() RETURNS trigger AS '/usr/lib/postgresql/15/lib/autoinc.so', 'autoinc' LANGUAGE C;
  `, [], db);
  const config = await pair.writeConfig([db]);

  const c = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  assert.equal(c.code, 1, c.stderr);
  const report = JSON.parse(c.stdout) as CheckReport;
  const fails = report.findings.filter((f) => f.severity === 'fail');
  assert.deepEqual(fails.map((f) => f.id).sort(), ['restore.c-library', 'restore.generated-child', 'restore.lz4']);
  const byId = Object.fromEntries(fails.map((f) => [f.id, f]));
  assert.deepEqual(byId['restore.lz4']!.objects, ['public.docs.body']);
  assert.deepEqual(byId['restore.generated-child']!.objects, ['public.gchild.b (parent public.gparent)']);
  assert.deepEqual(byId['restore.c-library']!.objects, ['public.stamp(): /usr/lib/postgresql/15/lib/autoinc.so']);
  for (const f of fails) {
    assert.equal(f.side, 'source');
    assert.match(f.fix ?? '', /^On the source/, f.id);
  }

  const s = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(s.code, 1, s.stderr);
  noCrash(s);
  assert.match(s.stderr, /the target cannot restore the schema/);
  assert.match(s.stderr, /hint: Nothing was created on the target\. On the source/);
  assert.doesNotMatch(s.stderr, /Fix the cause named above on the target/);
  assert.equal(await databaseExists(pair.target, db), false);

  // The fixes check advised, on the source; the data stays.
  await pair.source.sql(`
    ALTER TABLE docs ALTER COLUMN body SET COMPRESSION pglz;
    BEGIN;
    ALTER TABLE gchild NO INHERIT gparent;
    ALTER TABLE gchild ALTER COLUMN b DROP EXPRESSION;
    ALTER TABLE gchild INHERIT gparent;
    COMMIT;
    CREATE OR REPLACE FUNCTION stamp() RETURNS trigger AS '$libdir/autoinc', 'autoinc' LANGUAGE C;
  `, [], db);
  const again = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  assert.equal(again.code, 0, again.stderr);
  const ok = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(ok.code, 0, ok.stderr);
  const [{ n }] = await pair.target.sql<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'stamp' AND probin = '$libdir/autoinc'", [], db) as [{ n: number }];
  assert.equal(n, 1);
});

/** Per-database settings (role name or "-" for all), privileges, comment, owner and connection limit, independently of pgshift. */
async function databaseProperties(c: typeof pair.source, db: string): Promise<{ settings: string[]; acl: string; comment: string | null; owner: string; connlimit: number }> {
  const settings = await c.sql<{ s: string }>(
    `SELECT coalesce(r.rolname, '-') || ': ' || x AS s FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) x
      WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = $1) ORDER BY 1`, [db]);
  const [d] = await c.sql<{ acl: string; comment: string | null; owner: string; connlimit: number }>(
    `SELECT (SELECT string_agg(a::text, ' ' ORDER BY a::text) FROM unnest(datacl) a) AS acl, shobj_description(oid, 'pg_database') AS comment, pg_get_userbyid(datdba) AS owner, datconnlimit AS connlimit
       FROM pg_database WHERE datname = $1`, [db]);
  return { settings: settings.map((x) => x.s), ...d! };
}

test('schema gives the database it creates the source database\'s settings, privileges, comment and owner; says what it cannot; reports differences of one it did not create', async () => {
  const db = await pair.freshDatabase('props');
  const app = `app ${process.pid}`;
  const ghost = `ghost ${process.pid}`;
  await pair.source.sql(`CREATE ROLE ${qi(app)} LOGIN`);
  try {
    await pair.source.sql(`
      ALTER DATABASE ${qi(db)} OWNER TO ${qi(app)};
      ALTER DATABASE ${qi(db)} SET work_mem = '12MB';
      ALTER DATABASE ${qi(db)} SET search_path = app, "My Schema", public;
      ALTER DATABASE ${qi(db)} SET myapp.flag = 'it''s on';
      ALTER DATABASE ${qi(db)} SET force_parallel_mode = off;
      ALTER ROLE ${qi(app)} IN DATABASE ${qi(db)} SET statement_timeout = '5s';
      REVOKE ALL ON DATABASE ${qi(db)} FROM PUBLIC;
      GRANT CONNECT ON DATABASE ${qi(db)} TO PUBLIC;
      GRANT CREATE ON DATABASE ${qi(db)} TO ${qi(app)} WITH GRANT OPTION;
      COMMENT ON DATABASE ${qi(db)} IS 'the shop''s database';
      ALTER DATABASE ${qi(db)} CONNECTION LIMIT 40;
    `);
    await pair.source.sql('CREATE TABLE items (id int PRIMARY KEY)', [], db);
    const config = await pair.writeConfig([db]);
    const roles = await runCli(['-c', config, 'roles'], { env: pair.env() });
    assert.equal(roles.code, 0, roles.stderr);
    // A role created after "pgshift roles": the target lacks it.
    await pair.source.sql(`CREATE ROLE ${qi(ghost)}; ALTER ROLE ${qi(ghost)} IN DATABASE ${qi(db)} SET work_mem = '1MB'`);

    const r = await runCli(['-c', config, '--json', 'schema', db], { env: pair.env() });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { skippedDatabaseProperties: string[] };
    assert.equal(report.skippedDatabaseProperties.length, 2, r.stdout);
    assert.match(report.skippedDatabaseProperties.join('\n'), new RegExp(`role "${ghost}" does not exist on the target \\(run "pgshift roles" first\\): ALTER ROLE`));
    assert.match(report.skippedDatabaseProperties.join('\n'), /no setting "force_parallel_mode"/);
    assert.match(r.stderr, new RegExp(`"warn".*role \\\\"${ghost}\\\\" does not exist on the target`), 'said as a warning');

    const [src, tgt] = await Promise.all([databaseProperties(pair.source, db), databaseProperties(pair.target, db)]);
    const carried = src.settings.filter((x) => !x.includes('force_parallel_mode') && !x.startsWith(`${ghost}:`));
    assert.equal(carried.length, 4, src.settings.join('\n'));
    assert.deepEqual(tgt.settings, carried);
    assert.equal(tgt.acl, src.acl);
    assert.equal(tgt.comment, "the shop's database");
    assert.equal(tgt.owner, app);
    assert.equal(tgt.connlimit, 40);
    // The settings apply to new sessions on the target, as on the source.
    const [shown] = await pair.target.sql<{ sp: string }>("SELECT current_setting('search_path') AS sp", [], db);
    assert.equal(shown!.sp, 'app, "My Schema", public');

    // A database schema did not create is the user's: differences are reported, nothing is changed.
    await pair.target.sql(`ALTER DATABASE ${qi(db)} SET work_mem = '64MB'; COMMENT ON DATABASE ${qi(db)} IS NULL`);
    const before = await databaseProperties(pair.target, db);
    const again = await runCli(['-c', config, '--json', 'schema', db], { env: pair.env() });
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as { alreadyDone: boolean; databaseDifferences: string[] };
    assert.equal(second.alreadyDone, true);
    assert.ok(second.databaseDifferences.includes('settings only on the source: work_mem=12MB, force_parallel_mode=off, work_mem=1MB (role ' + ghost + ')'), second.databaseDifferences.join('\n'));
    assert.ok(second.databaseDifferences.includes('settings only on the target: work_mem=64MB'), second.databaseDifferences.join('\n'));
    assert.ok(second.databaseDifferences.some((d) => d.startsWith('comment: "the shop\'s database" on the source, none on the target')), second.databaseDifferences.join('\n'));
    assert.match(again.stderr, /differs from the source's \(pgshift leaves it as it is/);
    assert.deepEqual(await databaseProperties(pair.target, db), before);
    const existing = await runCli(['-c', config, '--json', 'schema', db, '--existing'], { env: pair.env() });
    assert.equal(existing.code, 0, existing.stderr);
    assert.deepEqual((JSON.parse(existing.stdout) as { databaseDifferences: string[] }).databaseDifferences, second.databaseDifferences);
  } finally {
    await pair.source.dropDatabase(db);
    await pair.target.dropDatabase(db);
    await pair.source.sql(`DROP ROLE IF EXISTS ${qi(ghost)}; DROP ROLE ${qi(app)}`);
    await pair.target.sql(`DROP ROLE IF EXISTS ${qi(app)}`);
  }
});

test('check warns, naming each inheritance child, that the restore puts its columns in another order, and the order it foresees is the restored one', async () => {
  const db = await pair.freshDatabase('colorder');
  // A column added to the parents after the children were created lands after
  // the children's own columns on the source; a restore puts it before them.
  // "Mixed Case" child of two parents checks the merge, a grandchild the recursion.
  await pair.source.sql(`
    CREATE TABLE base (id int, note text);
    CREATE TABLE other (tag text, id int);
    CREATE TABLE "Mixed Case" (own int) INHERITS (base, other);
    CREATE TABLE grand (g int) INHERITS ("Mixed Case");
    CREATE TABLE steady (x int) INHERITS (base);
    ALTER TABLE base ADD COLUMN added int;
    INSERT INTO grand (id, note, tag, own, g, added) VALUES (1, 'n', 't', 2, 3, 4);
  `, [], db);
  const config = await pair.writeConfig([db]);
  const r = await runCli(['-c', config, '--json', 'check', db], { env: pair.env() });
  const report = JSON.parse(r.stdout) as CheckReport;
  const finding = report.findings.find((f) => f.id === 'restore.column-order');
  assert.ok(finding, r.stdout);
  assert.equal(finding.severity, 'warn');
  const foreseen = new Map(finding.objects.map((o) => {
    const m = /^public\.(.+?) \((.*) -> (.*)\)$/.exec(o);
    assert.ok(m, o);
    return [m[1]!, m[3]!.split(', ')];
  }));
  assert.deepEqual([...foreseen.keys()].sort(), ['Mixed Case', 'grand', 'steady'], finding.objects.join('\n'));

  const s = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(s.code, 0, s.stderr);
  for (const [table, order] of foreseen) {
    const [{ cols }] = await pair.target.sql<{ cols: string[] }>(
      `SELECT array(SELECT attname::text FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum) AS cols`,
      [qi(table)], db) as [{ cols: string[] }];
    assert.deepEqual(cols, order, `${table}: the restored order is the one check foresaw`);
  }
});

test('the application\'s publications reach the target with their tables and options (a CDC consumer finds them on the new primary)', async () => {
  const db = await pair.freshDatabase('pubs');
  await pair.source.sql(`
    CREATE TABLE orders (id int PRIMARY KEY, v text);
    CREATE TABLE audit (id int PRIMARY KEY);
    CREATE PUBLICATION "cdc feed" FOR TABLE orders WITH (publish = 'insert');
  `, [], db);
  const config = await pair.writeConfig([db]);
  const s = await runCli(['-c', config, 'schema', db], { env: pair.env() });
  assert.equal(s.code, 0, s.stderr);
  const pubs = (c: typeof pair.source) => c.sql<{ p: string }>(
    `SELECT p.pubname || ' ' || p.pubinsert || p.pubupdate || ' ' || coalesce(string_agg(t.schemaname || '.' || t.tablename, ',' ORDER BY t.tablename), '') AS p
       FROM pg_publication p LEFT JOIN pg_publication_tables t ON t.pubname = p.pubname GROUP BY p.pubname, p.pubinsert, p.pubupdate ORDER BY 1`, [], db);
  assert.deepEqual(await pubs(pair.target), await pubs(pair.source));
  assert.deepEqual((await pubs(pair.target)).map((r) => r.p), ['cdc feed truefalse public.orders']);
});
