// load + load-check on a real replicated pair: the load writes while
// replication runs (and verify, run meanwhile, finds no difference); once the
// target catches up every acknowledged write is there exactly once; a ledger
// row deleted on the target makes load-check fail naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pair, runCli, versionPairs, waitFor, conninfoOf } from '../helpers/harness.js';
import { replicate, caughtUp, pause, unreplicate, type Replicated } from '../helpers/plain-replication.js';
import { startLoad, LOAD_SCHEMA_SQL, type LoadReport } from '../../src/load/index.js';
import { verifyDatabase } from '../../src/verify/index.js';

const [[FROM, TO]] = versionPairs([[13, 16]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(FROM, TO);
});
after(async () => {
  await pair?.stop();
});

/** A database whose load schema exists on both sides, replicated. */
async function loadDatabase(): Promise<{ r: Replicated; config: string }> {
  const db = await pair.freshDatabase('lo ad');
  await pair.target.createDatabase(db);
  const config = await pair.writeConfig([db]);
  // The first, short run creates the schema on the source (as a user would before copying the schema).
  const first = await runCli(['-c', config, 'load', db, '--duration', '500ms', '--clients', '1'], { env: pair.env() });
  assert.equal(first.code, 0, first.stderr);
  await pair.target.sql(LOAD_SCHEMA_SQL, [], db);
  return { r: await replicate(pair.source, pair.target, db), config };
}

test(`load while replicating ${FROM} -> ${TO}: verify finds no difference under load, load-check passes after catch-up`, async (t) => {
  const { r, config } = await loadDatabase();
  const ledger = join(pair.dir, 'ledger-1.txt');
  try {
    const load = await startLoad({ source: await pair.source.endpoint(), database: r.db, clients: 4, ledgerFile: ledger, thinkMs: 5 });
    let report: LoadReport;
    try {
      await waitFor(async () => load.acknowledged() > 300, { timeoutMs: 60_000, what: '300 acknowledged transactions' });
      // The source is being written the whole time: differences must be re-checked away, not reported.
      const live = await verifyDatabase({
        source: await pair.source.endpoint(), target: await pair.target.endpoint(), database: r.db,
        full: { chunkRows: 500, leafRows: 50, fanout: 4 },
      });
      t.diagnostic(`verify under load: ${live.ms} ms, ${live.rows} rows, unsettled: ${live.tables.filter((x) => x.status === 'unsettled').map((x) => x.table).join(', ') || 'none'}`);
      assert.equal(live.live, true);
      assert.equal(live.identical, true, JSON.stringify(live.tables.filter((t) => t.status === 'differs'), null, 1));
    } finally {
      report = await load.stop();
    }
    assert.ok(report.transactions > 300);
    assert.equal(report.errors, 0, report.errorSamples.join('\n'));
    assert.ok(report.latencyMs.p50 > 0 && report.latencyMs.p50 <= report.latencyMs.p99 && report.latencyMs.p99 <= report.latencyMs.max);
    assert.ok(report.longestStallMs >= 0);
    const ids = readFileSync(ledger, 'utf8').split('\n').filter((l) => /^[0-9a-f-]{36}$/.test(l));
    assert.equal(ids.length, report.transactions, 'the ledger file lists exactly the acknowledged transactions');

    // A second run from the CLI, through --via (here the source itself), appended to the same ledger.
    const via = `${conninfoOf(pair.source, r.db)} application_name=via`;
    const cli = await runCli(['-c', config, '--json', 'load', r.db, '--duration', '2s', '--clients', '2', '--ledger', ledger, '--via', via], { env: pair.env() });
    assert.equal(cli.code, 0, cli.stderr);
    const second = JSON.parse(cli.stdout) as LoadReport & { ok: boolean };
    assert.ok(second.transactions > 0);
    assert.equal(second.errors, 0);
    assert.ok(!cli.stderr.includes(pair.source.password));

    await caughtUp(r);
    const check = await runCli(['-c', config, 'load-check', r.db, '--ledger', ledger], { env: pair.env() });
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stderr, new RegExp(`${report.transactions + second.transactions} acknowledged writes .*\\(2 runs\\)`));
    assert.match(check.stderr, /every acknowledged write is on the target exactly once/);

    const quiet = await runCli(['-c', config, 'verify', r.db], { env: pair.env() });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.match(quiet.stderr, /identical: 4 tables/);
  } finally {
    await unreplicate(r);
  }
});

test('load-check fails (exit 1) naming the id when a ledger row is missing on the target', async () => {
  const { r, config } = await loadDatabase();
  const ledger = join(pair.dir, 'ledger-2.txt');
  try {
    const run = await runCli(['-c', config, 'load', r.db, '--duration', '1s', '--clients', '2', '--ledger', ledger], { env: pair.env() });
    assert.equal(run.code, 0, run.stderr);
    await caughtUp(r);
    await pause(r);
    const lost = readFileSync(ledger, 'utf8').split('\n').filter((l) => /^[0-9a-f-]{36}$/.test(l))[5]!;
    await pair.target.sql('DELETE FROM pgshift_load.ledger WHERE id = $1', [lost], r.db);
    const check = await runCli(['-c', config, 'load-check', r.db, '--ledger', ledger], { env: pair.env() });
    assert.equal(check.code, 1, check.stderr);
    assert.match(check.stderr, new RegExp(`1 missing on the target: ${lost}`));
    const json = await runCli(['-c', config, '--json', 'load-check', r.db, '--ledger', ledger], { env: pair.env() });
    assert.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; missing: number; missingIds: string[] };
    assert.deepEqual([doc.ok, doc.missing, doc.missingIds], [false, 1, [lost]]);
    // Verify sees the same loss.
    const verify = await runCli(['-c', config, 'verify', r.db, '--tables', 'pgshift_load.ledger'], { env: pair.env() });
    assert.equal(verify.code, 1, verify.stderr);
    assert.match(verify.stderr, new RegExp(`missing on target\\s+\\(id=${lost}\\)`));
  } finally {
    await unreplicate(r);
  }
});
