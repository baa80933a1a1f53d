// The version matrix's end-to-end run (issue 12): one pair of clusters per
// file, one fresh database per test, everything through the CLI as a user
// would run it, under two write loads:
//   - the fixture load (hard types, partitions, key-less tables) straight on
//     the source while `run` copies and streams (it ends with `wait`);
//   - `pgshift load` through PgBouncer, with a ledger of every acknowledged
//     write, from before `run` to after the switchover (and the rollback),
//     so `verify --mode full` compares a live source, the clients never see
//     an error, and every acknowledged write ends up on the side that takes
//     the writes.
// And: check names the dump tools it will use; status is healthy before and
// after the switchover; what replication cannot carry (an unlogged table, a
// large object) is copied in the pause; the reverse replication carries the
// target's writes back (or the rollback does); cleanup leaves no pgshift
// object on either side.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EmbeddedPgBouncer } from '../../src/embedded/pgbouncer.js';
import { formatConninfo } from '../../src/config/conninfo.js';
import { checkLedger, LOAD_SCHEMA_SQL } from '../../src/load/index.js';
import { namesFor } from '../../src/replication/names.js';
import { createFixtureSchema, fillFixture } from './fixture-schema.js';
import { runCli, slotConfirmed, startCli, tableRows, waitFor, type CliResult, type Pair } from './harness.js';
import { assertSameRows, assertStatusShape, objectCounts, startLoad, waitForCatchUp } from './replication-scenario.js';
import { bouncerYaml } from './switchover-fixture.js';

export interface VersionsRunOptions {
  /** Database name prefix. */
  prefix: string;
  /** Roll back after the switchover (through PgBouncer, under the load). */
  rollback?: boolean;
  /** Run on the target after the switchover, while the reverse replication runs (e.g. a TRUNCATE a 10 source cannot take). */
  afterSwitchover?: (pair: Pair, db: string) => Promise<void>;
}

const LOAD_TABLES = ['accounts', 'events', 'audit', 'ledger'];

/** Lines of acknowledged ids in a ledger file so far. */
function ledgerAcks(file: string): number {
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((l) => /^[0-9a-f]{8}-/.test(l)).length;
}

/** Run the CLI with the pair's passwords; fail with its output unless it exits with `expect`. */
export async function cli(pair: Pair, what: string, args: string[], expect: number | null = 0, timeoutMs = 170_000): Promise<CliResult> {
  const r = await runCli(args, { env: pair.env(), timeoutMs });
  if (expect !== null) assert.equal(r.code, expect, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r;
}

/**
 * The client tools CI installs: the system's 15 and an 18 built from
 * Debian's source package (.ci/run). The pg_dump major check must choose
 * for a pair there, by the rule of src/pg/tools.ts restated: the target's
 * major, else the newest not newer than the target, else the oldest newer.
 */
export const CI_DUMP_MAJORS = [15, 18];

export function ciDumpMajor(from: number, to: number): number {
  const usable = CI_DUMP_MAJORS.filter((m) => m >= from);
  if (usable.includes(to)) return to;
  const older = usable.filter((m) => m < to);
  return older.length ? Math.max(...older) : Math.min(...usable.filter((m) => m > to));
}

export async function versionsRun(pair: Pair, opts: VersionsRunOptions): Promise<void> {
  const { source, target } = pair;
  const db = await pair.freshDatabase(opts.prefix);
  await createFixtureSchema(source, db);
  await fillFixture(source, db, 1000);
  // The ledgered load's tables must be part of the schema pgshift copies.
  await source.sql(LOAD_SCHEMA_SQL, [], db);
  // What replication cannot carry, copied while writes are paused: an unlogged table, a large object.
  await source.sql(`CREATE UNLOGGED TABLE app.scratch (id int PRIMARY KEY, v text);
    INSERT INTO app.scratch SELECT g, 'scratch ' || g FROM generate_series(1, 100) g;
    SELECT lo_from_bytea(0, '\\x70677368696674'::bytea);`, [], db);
  const bouncer = await EmbeddedPgBouncer.start({
    databases: { [db]: { host: source.host, port: source.port, dbname: db } },
    users: { postgres: source.password },
  });
  try {
    const cfg = await pair.writeConfig([db], bouncerYaml(bouncer.port, bouncer.adminPassword, bouncer.configFile));
    const ledger = join(pair.dir, `${db}.ledger`);

    // check: ready, and the dump tools it names follow the documented rule.
    const check = await cli(pair, 'check', ['-c', cfg, '--json', 'check', db]);
    const report = JSON.parse(check.stdout) as { ok: boolean; findings: { id: string; severity: string; title: string; objects: string[] }[] };
    assert.equal(report.ok, true, check.stdout);
    const tools = report.findings.find((f) => f.id === 'tools')!;
    assert.equal(tools.severity, 'ok');
    const dumpMajor = ciDumpMajor(source.major, target.major);
    assert.match(tools.title, new RegExp(`^pg_dump ${dumpMajor}\\.`), tools.title);
    for (const t of ['pg_dump', 'pg_restore', 'psql']) {
      assert.ok(tools.objects.some((o) => o.startsWith(`${t} `) && o.includes(` (${dumpMajor}.`)), `${t} of the same installation: ${tools.objects.join(', ')}`);
    }

    const appLoad = startCli(['-c', cfg, '--json', 'load', db, '--clients', '2', '--ledger', ledger,
      '--via', formatConninfo(bouncer.params(db, source.superuser))], { env: pair.env(), timeoutMs: 600_000 });
    const fixtureLoad = await startLoad(source, db, 1);
    let fixtureCommitted = 0;
    try {
      await waitFor(async () => ledgerAcks(ledger) > 20, { timeoutMs: 60_000, what: 'the ledgered load to commit' });
      const run = await cli(pair, 'run', ['-c', cfg, '--yes', 'run', db, '--timeout', '150s']);
      assert.ok(!run.stderr.includes(source.password), 'run printed a password');
    } finally {
      fixtureCommitted = await fixtureLoad.stop();
    }
    assert.ok(fixtureCommitted > 10, `only ${fixtureCommitted} fixture writes ran during run`);
    // verify on a live source: the ledgered load is writing.
    const v = await cli(pair, 'verify', ['-c', cfg, '--json', 'verify', db, '--mode', 'full'], 0, 300_000);
    assert.equal((JSON.parse(v.stdout) as { identical: boolean }).identical, true, v.stdout);
    await waitForCatchUp(source, target, db);
    await assertSameRows(source, target, db);

    const st = await cli(pair, 'status', ['-c', cfg, '--json', 'status', db]);
    const s = (JSON.parse(st.stdout) as { databases: Record<string, unknown>[] }).databases[0]!;
    assertStatusShape(s);
    assert.equal(s.phase, 'streaming');
    assert.deepEqual(s.problems, []);

    // The switchover, under the ledgered load through PgBouncer.
    const beforeSwitch = ledgerAcks(ledger);
    const sw = await cli(pair, 'switchover', ['-c', cfg, '--yes', '--json', 'switchover', db]);
    const swDoc = JSON.parse(sw.stdout) as { outcome: string; copied: { table: string; rows: number }[]; largeObjects: number };
    assert.equal(swDoc.outcome, 'done');
    assert.deepEqual(swDoc.copied, [{ table: 'app.scratch', rows: 100 }]);
    assert.equal(swDoc.largeObjects, 1);
    assert.deepEqual(await tableRows(target, db, 'app', 'scratch'), await tableRows(source, db, 'app', 'scratch'));
    await waitFor(async () => ledgerAcks(ledger) > beforeSwitch + 50, { timeoutMs: 60_000, what: 'writes through PgBouncer to go on after the switchover' });
    const after = await cli(pair, 'status after switchover', ['-c', cfg, '--json', 'status', db]);
    const sa = (JSON.parse(after.stdout) as { databases: { phase: string; problems: unknown[] }[] }).databases[0]!;
    assert.equal(sa.phase, 'switched over');
    assert.deepEqual(sa.problems, []);
    // No way back for a change the reverse replication applies on the source
    // (the old source cannot filter by origin before 16): the forward
    // subscription and its slot are gone.
    const names = namesFor(db);
    assert.equal((await target.sql('SELECT 1 FROM pg_subscription WHERE subname = $1', [names.subscription], db)).length, 0);
    assert.equal((await source.sql('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).length, 0);
    await opts.afterSwitchover?.(pair, db);

    if (opts.rollback) {
      const beforeRollback = ledgerAcks(ledger);
      await waitFor(async () => ledgerAcks(ledger) > beforeRollback + 20, { timeoutMs: 60_000, what: 'writes on the target before the rollback' });
      const rb = await cli(pair, 'rollback', ['-c', cfg, '--yes', '--json', 'rollback', db]);
      assert.equal((JSON.parse(rb.stdout) as { outcome: string }).outcome, 'done');
      const afterRollback = ledgerAcks(ledger);
      await waitFor(async () => ledgerAcks(ledger) > afterRollback + 20, { timeoutMs: 60_000, what: 'writes through PgBouncer to go on after the rollback' });
    }

    appLoad.child.kill('SIGINT');
    const loadRun = await appLoad.done;
    assert.equal(loadRun.code, 0, loadRun.stderr);
    const lr = JSON.parse(loadRun.stdout) as { transactions: number; errors: number };
    assert.equal(lr.errors, 0, `a client transaction failed through PgBouncer: ${loadRun.stdout}`);

    if (opts.rollback) {
      // Every acknowledged write is on the source, which takes the writes again.
      const onSource = await checkLedger({ target: await source.endpoint(), database: db, ledgerFile: ledger });
      assert.equal(onSource.ok, true, JSON.stringify(onSource));
      assert.equal(onSource.acknowledged, lr.transactions);
    } else {
      const lc = await cli(pair, 'load-check', ['-c', cfg, '--json', 'load-check', db, '--ledger', ledger]);
      const r = JSON.parse(lc.stdout) as { ok: boolean; acknowledged: number };
      assert.equal(r.ok, true, lc.stdout);
      assert.equal(r.acknowledged, lr.transactions);
      // The reverse replication carried the target's writes back to the source.
      await slotConfirmed(target, names.reverseSlot);
      for (const t of LOAD_TABLES) {
        assert.deepEqual(await tableRows(source, db, 'pgshift_load', t), await tableRows(target, db, 'pgshift_load', t), `pgshift_load.${t} after the reverse replication`);
      }
    }
    // The fixture tables were not written after the switchover: the same on both sides.
    await assertSameRows(source, target, db);

    await cli(pair, 'cleanup', ['-c', cfg, '--yes', 'cleanup', db]);
    assert.deepEqual(await objectCounts(source, target, db), { publications: 0, subscriptions: 0, slots: 0, slotsOnTarget: 0 });
    for (const [c, side] of [[source, 'source'], [target, 'target']] as const) {
      const left = await c.sql<{ n: number }>(
        `SELECT (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgshift\\_%')
              + (SELECT count(*) FROM pg_subscription s JOIN pg_database d ON d.oid = s.subdbid
                  WHERE s.subname LIKE 'pgshift\\_%' AND d.datname = current_database()) AS n`, [], db);
      assert.equal(Number(left[0]!.n), 0, `pgshift publications or subscriptions left on the ${side}`);
    }
  } finally {
    await bouncer.stop();
  }
}
