// `pgshift run --copy fast` SIGKILLed at each point of the fast copy (and
// after run's steps around it), under a write load, then run again: the
// second run succeeds, every table holds the same rows on both sides (row by
// row), every acknowledged write of pgshift's ledgered load arrived once, the
// target's schema is the source's (indexes, constraints and foreign keys
// validated, whatever post-data step the kill interrupted), exactly one
// publication, subscription and slot of pgshift's exist, and cleanup leaves
// none. Some lanes kill twice: first in the copy, then inside the restart
// that undoes it (between emptying the tables and dropping the leftover slot,
// and right after dropping it), where a wrong order would leave rows on the
// target that the next run refuses as the user's.
//
// Like kill-run.test.ts, with the fast copy's points (src/steps/fast-copy.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Pair, qi, runCli, startCli, versionPairs } from '../helpers/harness.js';
import { createFixtureSchema, fillFixture } from '../helpers/fixture-schema.js';
import { assertRunArrived, assertSameRows, objectCounts, startLoad, waitForCatchUp } from '../helpers/replication-scenario.js';
import { databaseExists, schemaDefinitions } from '../helpers/schema-catalog.js';
import { serverErrors } from '../helpers/fault-scenario.js';
import { startLoad as startLedgerLoad } from '../../src/load/index.js';

const [[FROM, TO]] = versionPairs([[13, 17]]) as [[number, number]];

/** Where to kill, in order (one run killed per point), and whether the run after the last kill finds the leftover slot. */
interface Lane {
  kills: string[];
  restarts: boolean;
}
const LANES: Lane[] = [
  { kills: ['after:schema'], restarts: false },
  { kills: ['after:fast-copy-publication'], restarts: false },
  { kills: ['after:fast-copy-slot'], restarts: true },
  { kills: ['after:fast-copy-pre-data'], restarts: true },
  { kills: ['after:fast-copy-table'], restarts: true },
  { kills: ['after:fast-copy-data'], restarts: true },
  { kills: ['after:fast-copy-post-data'], restarts: true },
  { kills: ['after:fast-copy-identity'], restarts: true },
  { kills: ['after:fast-copy-subscription'], restarts: false },
  { kills: ['after:start'], restarts: false },
  { kills: ['after:fast-copy-data', 'after:fast-copy-emptied'], restarts: true },
  { kills: ['after:fast-copy-post-data', 'after:fast-copy-slot-dropped'], restarts: false },
];
const RESTART = /an earlier start of "[^"]+" stopped before its subscription was made/;

let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

for (const lane of LANES) {
  test(`run --copy fast ${FROM}->${TO} SIGKILLed ${lane.kills.join(', then ')}, run again: identical rows and schema, every write, nothing left after cleanup`, async () => {
    const db = await pair.freshDatabase('killfast');
    await createFixtureSchema(pair.source, db);
    await fillFixture(pair.source, db, 200);
    const cfg = await pair.writeConfig([db]);
    const args = ['-c', cfg, '--yes', 'run', db, '--copy', 'fast', '--jobs', '2', '--timeout', '90s'];
    const ledgerFile = join(pair.dir, `ledger-${db}.txt`);
    const ledger = await startLedgerLoad({ source: await pair.source.endpoint(), database: db, clients: 1, ledgerFile, thinkMs: 2 });
    const load = await startLoad(pair.source, db, 1);
    let acknowledged: number;
    try {
      for (const point of lane.kills) {
        const r = await startCli(args, { env: { ...pair.env(), PGSHIFT_FAULT: point } }).done;
        assert.equal(r.signal, 'SIGKILL', `run was not killed at ${point} (exit ${r.code}):\n${r.stdout}${r.stderr}`);
      }
      const again = await runCli(args, { env: pair.env(), timeoutMs: 180_000 });
      assert.equal(again.code, 0, again.stderr);
      if (lane.restarts) assert.match(again.stderr, RESTART, 'the re-run did not say it restarts the interrupted copy');
      else assert.doesNotMatch(again.stderr, RESTART);
    } finally {
      await load.stop();
      acknowledged = (await ledger.stop()).transactions;
    }
    const context = async (): Promise<string> => `source errors:\n${serverErrors(pair.source)}\ntarget errors:\n${serverErrors(pair.target)}`;
    await assertRunArrived(pair, cfg, db, ledgerFile, acknowledged, context);
    // Every index, constraint and trigger, whichever post-data part the kill cut short; a foreign key
    // left NOT VALID differs too (pg_get_constraintdef says so).
    assert.deepEqual(await schemaDefinitions(pair.target, db), await schemaDefinitions(pair.source, db));
    assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 1, subscriptions: 1, slots: 1, slotsOnTarget: 0 });

    const clean = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: pair.env() });
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 0, subscriptions: 0, slots: 0, slotsOnTarget: 0 });
  });
}

test(`run --copy fast ${FROM}->${TO} SIGKILLed after:fast-copy-data, then run without --copy fast: refused, nothing changed, and --copy fast finishes`, async () => {
  const db = await pair.freshDatabase('killfastnative');
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 100);
  const cfg = await pair.writeConfig([db]);
  const fast = ['-c', cfg, '--yes', 'run', db, '--copy', 'fast', '--timeout', '90s'];
  const killed = await startCli(fast, { env: { ...pair.env(), PGSHIFT_FAULT: 'after:fast-copy-data' } }).done;
  assert.equal(killed.signal, 'SIGKILL', `run was not killed (exit ${killed.code}):\n${killed.stdout}${killed.stderr}`);
  const before = await objectCounts(pair.source, pair.target, db);

  const native = await runCli(['-c', cfg, '--yes', 'run', db, '--timeout', '90s'], { env: pair.env() });
  assert.equal(native.code, 3, native.stderr);
  assert.match(native.stderr, /already has rows in .*slot pgshift_\S+ exists on the source without a subscription: an interrupted "start --copy fast"/);
  assert.match(native.stderr, new RegExp(`hint: Run "pgshift start ${db} --copy fast" \\(or "pgshift run ${db} --copy fast"\\) again`));
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), before, 'the refused run changed pgshift\'s objects');
  assert.deepEqual({ ...before, slots: 1 }, before, 'the killed fast copy left no slot: the refusal proves nothing');

  const again = await runCli(fast, { env: pair.env(), timeoutMs: 180_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, RESTART);
  await waitForCatchUp(pair.source, pair.target, db);
  await assertSameRows(pair.source, pair.target, db);
  const clean = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: pair.env() });
  assert.equal(clean.code, 0, clean.stderr);
  assert.deepEqual(await objectCounts(pair.source, pair.target, db), { publications: 0, subscriptions: 0, slots: 0, slotsOnTarget: 0 });
});

test(`run --copy fast ${FROM}->${TO} SIGKILLed after it created the target database, run again: the database's own properties it did not get are named`, async () => {
  const db = await pair.freshDatabase('killfastdb');
  await createFixtureSchema(pair.source, db);
  await fillFixture(pair.source, db, 20);
  await pair.source.sql(`ALTER DATABASE ${qi(db)} SET work_mem = '7MB'`);
  const cfg = await pair.writeConfig([db]);
  const fast = ['-c', cfg, '--yes', 'run', db, '--copy', 'fast', '--timeout', '90s'];
  const killed = await startCli(fast, { env: { ...pair.env(), PGSHIFT_FAULT: 'after:fast-copy-publication' } }).done;
  assert.equal(killed.signal, 'SIGKILL', `run was not killed (exit ${killed.code}):\n${killed.stdout}${killed.stderr}`);
  assert.ok(await databaseExists(pair.target, db), 'the killed run did not create the target database: this test proves nothing');

  const again = await runCli(fast, { env: pair.env(), timeoutMs: 180_000 });
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, new RegExp(`the target database "${db}" was not created by this run and differs from the source's .*settings only on the source: work_mem=7MB`));
  await assertSameRows(pair.source, pair.target, db);
  const clean = await runCli(['-c', cfg, '--yes', 'cleanup', db], { env: pair.env() });
  assert.equal(clean.code, 0, clean.stderr);
});
