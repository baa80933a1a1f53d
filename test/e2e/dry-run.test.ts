// --dry-run on start and cleanup (14 -> 17, through the CLI): both clusters
// are exactly as they were after the dry run (slots, publications and their
// tables, subscriptions, origins, replica identities, schemas, tables, roles,
// databases, pgshift's bookkeeping), the plan names the statements that
// matter on the right side and database, bound values shown as literals and
// the password masked; the real command then does what the plan said; a
// refusal is the real command's refusal; a dry run runs while another
// pgshift holds the database's lock (it takes none); and a dry-run session
// refuses a change nobody marked, including the ones a read-only session lets
// through (replication slots, pg_terminate_backend).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, startCli, versionPairs, waitFor } from '../helpers/harness.js';
import { snapshot } from '../helpers/cluster-state.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { namesFor } from '../../src/replication/names.js';
import { quoteIdent, quoteLiteral } from '../../src/pg/quote.js';
import { loadConfig } from '../../src/config/config.js';
import { connect } from '../../src/pg/connect.js';
import { DryRun } from '../../src/pg/dry-run.js';
import { InternalError } from '../../src/errors.js';
import pg from 'pg';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

// nokey gets FULL, uniq a USING INDEX identity, keyed keeps its key; a hostile name on the way.
const DDL = `
CREATE TABLE keyed (id int PRIMARY KEY, v text);
CREATE TABLE nokey (a int, b text);
CREATE TABLE uniq (a int NOT NULL, b text);
CREATE UNIQUE INDEX uniq_a ON uniq (a);
CREATE SCHEMA "Odd ""s""";
CREATE TABLE "Odd ""s""".";DROP x" (id int PRIMARY KEY);`;
const DATA = `
INSERT INTO keyed SELECT g, 'k' FROM generate_series(1, 50) g;
INSERT INTO nokey SELECT g, 'n' FROM generate_series(1, 50) g;
INSERT INTO uniq SELECT g, 'u' FROM generate_series(1, 50) g;
INSERT INTO "Odd ""s""".";DROP x" SELECT g FROM generate_series(1, 5) g;`;

/** Everything a dry run must leave as it was, on one cluster. */
async function fingerprint(c: EmbeddedCluster): Promise<string> {
  const lines = [await snapshot(c)];
  const add = async (q: string, db = 'postgres'): Promise<void> => {
    lines.push(`${db}: ${q}`, ...(await c.sql<{ v: string }>(q, [], db)).map((r) => r.v));
  };
  // (snapshot() has a switchover's fences already: CONNECT grants and database settings.)
  await add("SELECT roname::text AS v FROM pg_replication_origin ORDER BY 1");
  await add("SELECT s.subname || ' ' || coalesce(s.subslotname::text, '-') || ' ' || s.subenabled::text || ' ' || array_to_string(s.subpublications, ',') AS v FROM pg_subscription s ORDER BY 1");
  await add("SELECT slot_name::text || ' ' || slot_type || ' ' || coalesce(plugin::text, '') AS v FROM pg_replication_slots ORDER BY 1");
  const dbs = await c.sql<{ d: string }>('SELECT datname AS d FROM pg_database WHERE datallowconn ORDER BY 1');
  for (const { d } of dbs) {
    await add("SELECT pubname || ' ' || schemaname || '.' || tablename AS v FROM pg_publication_tables ORDER BY 1", d);
    await add("SELECT s.subname || ' ' || sr.srrelid::regclass::text || ' ' || sr.srsubstate::text AS v FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid ORDER BY 1", d);
    // pgshift's bookkeeping, row by row, wherever it is.
    for (const t of await c.sql<{ t: string }>("SELECT c.oid::regclass::text AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pgshift' AND c.relkind = 'r' ORDER BY 1", [], d)) {
      await add(`SELECT to_jsonb(r)::text AS v FROM ${t.t} r ORDER BY 1`, d);
    }
  }
  return lines.join('\n');
}

interface Planned { step: string; side: 'source' | 'target'; database: string; sql?: string; command?: string; note?: string }

async function setUp(prefix: string): Promise<{ db: string; cli: (args: string[]) => ReturnType<typeof runCli> }> {
  const db = await pair.freshDatabase(prefix);
  await pair.target.createDatabase(db);
  for (const c of [pair.source, pair.target]) await c.sql(DDL, [], db);
  await pair.source.sql(DATA, [], db);
  const cfg = await pair.writeConfig([db]);
  return { db, cli: (args) => runCli(['-c', cfg, ...args], { env: pair.env(), timeoutMs: 180_000 }) };
}

async function allReady(db: string): Promise<void> {
  const sub = namesFor(db).subscription;
  await waitFor(async () => {
    const [r] = await pair.target.sql<{ n: number; ready: number }>(
      "SELECT count(*)::int AS n, count(*) FILTER (WHERE sr.srsubstate = 'r')::int AS ready FROM pg_subscription_rel sr JOIN pg_subscription s ON s.oid = sr.srsubid WHERE s.subname = $1", [sub], db);
    return r!.n > 0 && r!.n === r!.ready;
  }, { timeoutMs: 120_000, what: 'the initial copy to finish' });
  // Its table-sync slots go away on their own once a table is ready.
  await waitFor(async () => (await pair.source.sql("SELECT 1 FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_%\\_sync\\_%'")).length === 0,
    { timeoutMs: 60_000, what: 'table-sync slots to go' });
}

/** Each public table's identity, "name:d|n|f|i[ index]". */
async function identities(c: EmbeddedCluster, db: string): Promise<string[]> {
  return (await c.sql<{ x: string }>(
    `SELECT c.relname || ':' || c.relreplident::text || coalesce(' ' || (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid AND i.indisreplident), '') AS x
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1`, [], db)).map((r) => r.x);
}

test('start --dry-run changes nothing, prints every statement start then runs', async () => {
  const { db, cli } = await setUp('dry_start');
  const names = namesFor(db);
  const before = [await fingerprint(pair.source), await fingerprint(pair.target)];

  const text = await cli(['start', db, '--dry-run']);
  assert.equal(text.code, 0, text.stderr);
  const json = await cli(['--json', 'start', db, '--dry-run']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual([await fingerprint(pair.source), await fingerprint(pair.target)], before, 'a dry run changed a cluster');

  // The text plan: header, steps, the statements that matter, the password masked.
  assert.match(text.stderr, /^dry run: nothing was changed/m);
  assert.ok(text.stderr.includes(`ALTER TABLE "public"."nokey" REPLICA IDENTITY FULL;`), text.stderr);
  assert.ok(text.stderr.includes(`ALTER TABLE "public"."uniq" REPLICA IDENTITY USING INDEX "uniq_a";`), text.stderr);
  assert.ok(text.stderr.includes(`CREATE PUBLICATION ${quoteIdent(names.publication)} FOR TABLE ONLY `), text.stderr);
  assert.ok(text.stderr.includes(`ONLY "Odd ""s""".";DROP x"`), text.stderr);
  assert.ok(text.stderr.includes(`CREATE SUBSCRIPTION ${quoteIdent(names.subscription)} CONNECTION `), text.stderr);
  assert.ok(!text.stderr.includes(pair.source.password) && !json.stdout.includes(pair.source.password), 'the password is never printed');
  assert.match(text.stderr, /password=''\*{8}''/, 'the password shown masked');
  assert.match(text.stderr, /== publication pgshift_\S+ on the source/);

  const doc = JSON.parse(json.stdout) as { formatVersion: number; dryRun: boolean; changed: boolean; statements: Planned[] };
  assert.equal(doc.formatVersion, 2);
  assert.equal(doc.dryRun, true);
  assert.equal(doc.changed, false);
  const st = doc.statements;
  const at = (re: RegExp): number => st.findIndex((s) => re.test(s.sql ?? ''));
  const pub = at(/^CREATE PUBLICATION /);
  const sub = at(/^CREATE SUBSCRIPTION /);
  const full = at(/"nokey" REPLICA IDENTITY FULL/);
  assert.ok(full >= 0 && pub > full && sub > pub, 'identities, then the publication, then the subscription');
  assert.deepEqual([st[full]!.side, st[full]!.database], ['source', db]);
  assert.deepEqual([st[pub]!.side, st[pub]!.database], ['source', db]);
  assert.deepEqual([st[sub]!.side, st[sub]!.database], ['target', db]);
  // Each identity change is recorded first, in the maintenance database, its values as literals.
  const record = st.findIndex((s) => s.side === 'source' && s.database === 'postgres' && /^INSERT INTO pgshift\.replica_identity/.test(s.sql ?? ''));
  assert.ok(record >= 0 && record < full, JSON.stringify(st, null, 1));
  assert.ok(st[record]!.sql!.includes(quoteLiteral(db)), st[record]!.sql);
  assert.ok(!/\$\d/.test(st[record]!.sql!), 'no placeholder left');
  // The target mirrors the source's identities the plan sets (the source was not changed).
  assert.ok(st.some((s) => s.side === 'target' && /"nokey" REPLICA IDENTITY FULL/.test(s.sql ?? '')), 'the target mirror follows the planned source identities');

  // The real start does what the plan said.
  const real = await cli(['start', db]);
  assert.equal(real.code, 0, real.stderr);
  const published = (await pair.source.sql<{ t: string }>('SELECT schemaname || \'.\' || tablename AS t FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1', [names.publication], db)).map((r) => r.t);
  assert.deepEqual(published, ['Odd "s".;DROP x', 'public.keyed', 'public.nokey', 'public.uniq']);
  for (const t of published) {
    const [schema, table] = [t.slice(0, t.lastIndexOf('.')), t.slice(t.lastIndexOf('.') + 1)];
    assert.ok(st[pub]!.sql!.includes(`ONLY ${quoteIdent(schema)}.${quoteIdent(table)}`), `${t} was in the plan`);
  }
  assert.equal((await pair.target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription])).length, 1);
  for (const c of [pair.source, pair.target]) {
    assert.deepEqual(await identities(c, db), ['keyed:d', 'nokey:f', 'uniq:i uniq_a'], `identities as planned on the ${c === pair.source ? 'source' : 'target'}`);
  }

  // Now that it exists, a dry run plans nothing for the publication or subscription again.
  await allReady(db);
  const again = await cli(['--json', 'start', db, '--dry-run']);
  assert.equal(again.code, 0, again.stderr);
  const againDoc = JSON.parse(again.stdout) as { statements: Planned[]; publication: { action: string }; subscription: { action: string } };
  assert.deepEqual(againDoc.statements, []);
  assert.equal(againDoc.publication.action, 'unchanged');
  assert.equal(againDoc.subscription.action, 'unchanged');
  const againText = await cli(['start', db, '--dry-run']);
  assert.match(againText.stderr, /already exists on the source/);
  assert.match(againText.stderr, /already exists on the target/);

  // cleanup --dry-run after the real start.
  const beforeCleanup = [await fingerprint(pair.source), await fingerprint(pair.target)];
  const plan = await cli(['cleanup', db, '--dry-run']);
  assert.equal(plan.code, 0, plan.stderr);
  const planJson = await cli(['--json', 'cleanup', db, '--dry-run']);
  assert.equal(planJson.code, 0, planJson.stderr);
  assert.deepEqual([await fingerprint(pair.source), await fingerprint(pair.target)], beforeCleanup, 'a cleanup dry run changed a cluster');
  assert.match(plan.stderr, /^dry run: nothing was changed/m);
  assert.doesNotMatch(plan.stderr, /Refusing without a terminal/, 'a dry run asks for no confirmation');
  const cst = (JSON.parse(planJson.stdout) as { statements: Planned[] }).statements;
  const find = (side: string, re: RegExp): number => cst.findIndex((s) => s.side === side && re.test(s.sql ?? ''));
  const dropSub = find('target', new RegExp(`^DROP SUBSCRIPTION ${quoteIdent(names.subscription)};`));
  const dropSlot = find('source', new RegExp(`^SELECT pg_catalog\\.pg_drop_replication_slot\\(${quoteLiteral(names.slot)}\\);`));
  const dropPub = find('source', new RegExp(`^DROP PUBLICATION ${quoteIdent(names.publication)};`));
  const restore = find('source', /^ALTER TABLE "public"\."nokey" REPLICA IDENTITY DEFAULT;/);
  assert.ok(dropSub >= 0 && dropSlot > dropSub && dropPub > dropSlot && restore > dropPub, JSON.stringify(cst, null, 1));
  assert.match(cst[dropSlot]!.note ?? '', /only if DROP SUBSCRIPTION left it/);
  assert.ok(find('target', /^ALTER TABLE "public"\."uniq" REPLICA IDENTITY DEFAULT;/) >= 0);
  assert.ok(cst.some((s) => s.database === 'postgres' && /^DROP TABLE pgshift\.replica_identity;/.test(s.sql ?? '')), 'the emptied record goes');

  const cleaned = await cli(['--yes', 'cleanup', db]);
  assert.equal(cleaned.code, 0, cleaned.stderr);
  assert.equal((await pair.target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription])).length, 0);
  assert.equal((await pair.source.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).length, 0);
  assert.equal((await pair.source.sql('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publication], db)).length, 0);
  for (const c of [pair.source, pair.target]) assert.deepEqual(await identities(c, db), ['keyed:d', 'nokey:d', 'uniq:d']);
});

test('start --dry-run refuses as start does, and runs beside another pgshift (it takes no lock)', async () => {
  const { db, cli } = await setUp('dry_refuse');
  await pair.target.sql('INSERT INTO keyed VALUES (1, \'already here\')', [], db);
  const before = [await fingerprint(pair.source), await fingerprint(pair.target)];
  const dry = await cli(['start', db, '--dry-run']);
  const real = await cli(['start', db]);
  assert.equal(dry.code, real.code, dry.stderr);
  assert.equal(dry.code, 3, dry.stderr);
  assert.match(dry.stderr, /keyed/);
  assert.deepEqual([await fingerprint(pair.source), await fingerprint(pair.target)], before);

  // A start held at its first step keeps the database's lock; a dry run still plans.
  await pair.target.sql('DELETE FROM keyed', [], db);
  const held = startCli(['-c', await pair.writeConfig([db]), 'start', db], { env: { ...pair.env(), PGSHIFT_FAULT: 'stop:after:start-identity' }, timeoutMs: 120_000 });
  try {
    await waitFor(async () => (await pair.source.sql("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'pgshift lock start %'")).length > 0, { timeoutMs: 60_000, what: 'the lock to be held' });
    const locked = await cli(['start', db]);
    assert.equal(locked.code, 3, 'a second real start is refused');
    const planned = await cli(['start', db, '--dry-run']);
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stderr, /CREATE PUBLICATION/);
  } finally {
    held.child.kill('SIGKILL');
    await held.done.catch(() => undefined);
  }
});

test('a dry-run connection records what change() is given and refuses an unmarked change, read-only or not', async () => {
  const { db } = await setUp('dry_backstop');
  const config = loadConfig(await pair.writeConfig([db]), pair.env());
  await pair.source.sql("SELECT pg_create_logical_replication_slot('dry_backstop_keep', 'pgoutput')", [], db);
  const plan = new DryRun();
  const source = await connect('source', config.source, { database: db, dryRun: plan });
  try {
    const before = await fingerprint(pair.source);
    // change(): recorded with its values as literals, not run.
    assert.deepEqual(await source.change('SELECT pg_catalog.pg_drop_replication_slot($1)', ['dry_backstop_keep']), []);
    await source.change('ALTER TABLE nokey REPLICA IDENTITY FULL');
    assert.deepEqual(plan.statements.map((x) => x.sql), ["SELECT pg_catalog.pg_drop_replication_slot('dry_backstop_keep');", 'ALTER TABLE nokey REPLICA IDENTITY FULL;']);
    // An unmarked DDL fails in the read-only session...
    await assert.rejects(source.query('ALTER TABLE nokey REPLICA IDENTITY FULL'), /read-only transaction/);
    // ...and what a read-only session would let through is refused before it reaches the server.
    for (const sql of ["SELECT pg_catalog.pg_drop_replication_slot('dry_backstop_keep')", "SELECT pg_create_logical_replication_slot('dry_x', 'pgoutput')", 'SELECT pg_terminate_backend(pg_backend_pid())', 'SET default_transaction_read_only = off']) {
      await assert.rejects(source.query(sql), (e) => e instanceof InternalError, sql);
    }
    await source.allowWrites();
    await assert.rejects(source.query('CREATE TABLE dry_x (i int)'), /read-only transaction/, 'allowWrites keeps a dry-run session read-only');
    assert.equal(await fingerprint(pair.source), before);
  } finally {
    await source.close();
    await pair.source.sql("SELECT pg_drop_replication_slot('dry_backstop_keep')", [], db);
  }
});

test('switchover and rollback --dry-run change nothing and print the move; the real ones then run; a refusal is the real refusal', async () => {
  const { db, cli } = await setUp('dry_move');
  const names = namesFor(db);
  const started = await cli(['start', db]);
  assert.equal(started.code, 0, started.stderr);
  await allReady(db);
  const waited = await cli(['wait', db]);
  assert.equal(waited.code, 0, waited.stderr);

  /** Plan both ways (text and JSON), prove nothing changed, return the JSON statements. */
  const dryRun = async (cmd: 'switchover' | 'rollback'): Promise<{ text: string; st: Planned[] }> => {
    const before = [await fingerprint(pair.source), await fingerprint(pair.target)];
    const text = await cli([cmd, db, '--dry-run']);
    assert.equal(text.code, 0, text.stderr);
    const json = await cli(['--json', cmd, db, '--dry-run']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual([await fingerprint(pair.source), await fingerprint(pair.target)], before, `a ${cmd} dry run changed a cluster`);
    assert.match(text.stderr, /dry run: nothing was changed/);
    assert.doesNotMatch(text.stderr, /Refusing without a terminal/, 'a dry run asks for no confirmation');
    assert.ok(!text.stderr.includes(pair.source.password) && !json.stdout.includes(pair.source.password), 'the password is never printed');
    const doc = JSON.parse(json.stdout) as { formatVersion: number; dryRun: boolean; statements: Planned[] };
    assert.equal(doc.formatVersion, 2);
    assert.equal(doc.dryRun, true);
    return { text: text.stderr, st: doc.statements };
  };
  const at = (st: Planned[], side: string, database: string, re: RegExp): number => st.findIndex((s) => s.side === side && s.database === database && re.test(s.sql ?? ''));

  // --- switchover (revoke: the default pause method) ---
  const sw = await dryRun('switchover');
  const fwd = sw.st;
  const show = JSON.stringify(fwd, null, 1);
  const pub = at(fwd, 'target', db, new RegExp(`^CREATE PUBLICATION ${quoteIdent(names.reversePublication)} FOR TABLE `));
  const rsub = at(fwd, 'source', db, new RegExp(`^CREATE SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} CONNECTION .*enabled = false`));
  const fence = at(fwd, 'source', 'postgres', /^INSERT INTO pgshift\.switchover_fence /);
  const revoke = at(fwd, 'source', 'postgres', new RegExp(`^REVOKE CONNECT ON DATABASE ${quoteIdent(db)} FROM PUBLIC;`));
  const disable = at(fwd, 'target', db, new RegExp(`^ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} DISABLE;`));
  const slot = at(fwd, 'target', db, new RegExp(`pg_create_logical_replication_slot\\(${quoteLiteral(names.reverseSlot)}, 'pgoutput'\\)`));
  const enable = at(fwd, 'source', db, new RegExp(`^ALTER SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} ENABLE;`));
  const commit = at(fwd, 'source', 'postgres', /^UPDATE pgshift\.switchover_fence f SET phase = 'committed', opposite_from = /);
  const advance = at(fwd, 'target', db, new RegExp(`pg_replication_slot_advance\\(slot_name, '[0-9A-F]+/[0-9A-F]+'::pg_lsn\\) FROM pg_catalog\\.pg_replication_slots WHERE slot_name = ${quoteLiteral(names.reverseSlot)}`));
  const grant = at(fwd, 'target', 'postgres', new RegExp(`^GRANT CONNECT ON DATABASE ${quoteIdent(db)} TO PUBLIC;`));
  const drop = at(fwd, 'target', db, new RegExp(`^DROP SUBSCRIPTION ${quoteIdent(names.subscription)};`));
  for (const [what, i] of Object.entries({ pub, rsub, fence, revoke, disable, slot, commit, advance, enable, grant, drop })) assert.ok(i >= 0, `${what} in the plan: ${show}`);
  // The reverse slot before the pause; after the commit point the resume and the feed's
  // DISABLE (side by side), and the reverse direction started from the commit point's position.
  assert.ok(pub < rsub && rsub < fence && fence < slot && slot < revoke && revoke < commit && commit < grant && commit < disable && disable < advance && advance < enable && enable < drop, `in the engine's order: ${show}`);
  assert.ok(fwd[fence]!.sql!.includes(quoteLiteral(db)) && !/\$\d/.test(fwd[fence]!.sql!), 'values bound as literals');
  assert.ok(fwd.some((s) => s.step === 'fence' && /proveFence/.test(s.note ?? '')), 'the fence proof is described');
  assert.ok(fwd.some((s) => s.step === 'catch-up' && /pg_logical_emit_message/.test(s.note ?? '')), 'the catch-up mark is described');
  assert.match(sw.text, /== pause/);
  assert.match(sw.text, /REVOKE CONNECT ON DATABASE/);

  // The real switchover works after it.
  const real = await cli(['--yes', 'switchover', db]);
  assert.equal(real.code, 0, real.stderr);

  // --- rollback: the pause on the target, forward replication prepared again ---
  const rb = await dryRun('rollback');
  const back = rb.st;
  const showBack = JSON.stringify(back, null, 1);
  const fsub = at(back, 'target', db, new RegExp(`^CREATE SUBSCRIPTION ${quoteIdent(names.subscription)} CONNECTION .*enabled = false`));
  const rrevoke = at(back, 'target', 'postgres', new RegExp(`^REVOKE CONNECT ON DATABASE ${quoteIdent(db)} FROM PUBLIC;`));
  const rdisable = at(back, 'source', db, new RegExp(`^ALTER SUBSCRIPTION ${quoteIdent(names.reverseSubscription)} DISABLE;`));
  const rslot = at(back, 'source', db, new RegExp(`pg_create_logical_replication_slot\\(${quoteLiteral(names.slot)}, 'pgoutput'\\)`));
  const renable = at(back, 'target', db, new RegExp(`^ALTER SUBSCRIPTION ${quoteIdent(names.subscription)} ENABLE;`));
  const rgrant = at(back, 'source', 'postgres', new RegExp(`^GRANT CONNECT ON DATABASE ${quoteIdent(db)} TO PUBLIC;`));
  const radvance = at(back, 'source', db, new RegExp(`pg_replication_slot_advance\\(.*slot_name = ${quoteLiteral(names.slot)}`));
  for (const [what, i] of Object.entries({ fsub, rrevoke, rdisable, rslot, renable, rgrant, radvance })) assert.ok(i >= 0, `${what} in the rollback plan: ${showBack}`);
  assert.ok(fsub < rslot && rslot < rrevoke && rrevoke < rgrant && rrevoke < rdisable && rdisable < radvance && radvance < renable, `in the engine's order: ${showBack}`);

  // A refusal (a transaction on the target older than max_pause) is the real refusal, exit code and all.
  const client = new pg.Client({ host: pair.target.host, port: pair.target.port, user: pair.target.superuser, password: pair.target.password, database: db });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT txid_current()');
    await waitFor(async () => (await pair.target.sql<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND now() - xact_start > interval '1 second' AND pid <> pg_backend_pid()", [db])).some((r) => r.n > 0), { timeoutMs: 30_000, what: 'the transaction to be older than 1s' });
    const before = [await fingerprint(pair.source), await fingerprint(pair.target)];
    const dry = await cli(['rollback', db, '--dry-run', '--max-pause', '500ms']);
    const realRb = await cli(['--yes', 'rollback', db, '--max-pause', '500ms']);
    assert.equal(dry.code, realRb.code, dry.stderr);
    assert.equal(dry.code, 3, dry.stderr);
    assert.deepEqual([await fingerprint(pair.source), await fingerprint(pair.target)], before);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end();
  }
  const rolled = await cli(['--yes', 'rollback', db]);
  assert.equal(rolled.code, 0, rolled.stderr);
});
