// switchover -> rollback -> switchover -> rollback -> switchover on one
// database, with no new initial copy: every move leaves replication running
// the other way from its own fence. Writers ("app", acknowledged inserts
// recorded) run on the side taking writes before each move; after each move
// every acknowledged write is on the new primary exactly once, replication
// carries it to the other side (once), the old primary refuses "app", and
// `status` says which way replication runs. One rollback is killed after its
// point of no return (after:reverse, the forward slot made and its
// subscription enabled, writes not resumed) and finished by running it again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, versionPairs } from '../helpers/harness.js';
import { cli, killMatrixPair, KillChecks, newLane, statusOf } from './kill-fixture.js';

const [[FROM, TO]] = versionPairs([[14, 18]]) as [[number, number]];
let pair: Pair;
let check: KillChecks;

killMatrixPair(FROM, TO, (p, c) => {
  pair = p;
  check = c;
});

test(`switchover and rollback back and forth ${FROM}<->${TO} (revoke): no new copy, every acknowledged write once on the primary`, async () => {
  const lane = await newLane(pair, 'revoke', 'bnf');
  const acked = new Set<string>();
  const add = (s: Set<string>): void => s.forEach((x) => acked.add(x));

  for (let round = 1; round <= 2; round++) {
    let w = await check.writersOn('source', lane.db);
    const sw = await cli(pair, lane, ['switchover', lane.db]);
    assert.equal(sw.code, 0, `round ${round} switchover: ${sw.stderr}${sw.stdout}`);
    assert.equal(sw.json?.outcome, 'done');
    assert.equal(sw.json?.reverseVerified, true, `round ${round}: reverse replication not proven: ${String(sw.json?.reverseProblem)}`);
    await w.stop();
    add(w.acked);
    await check.switched(lane, acked, `round ${round}, after the switchover`);
    let st = await statusOf(pair, lane);
    assert.equal(st.s.replication, 'target -> source', `round ${round}: status after the switchover`);
    assert.equal(st.s.writesTo, 'target');

    w = await check.writersOn('target', lane.db);
    if (round === 2) {
      await check.killed(lane, 'rollback', 'after:reverse');
      const again = await cli(pair, lane, ['rollback', lane.db]);
      assert.equal(again.code, 0, again.stderr + again.stdout);
      assert.equal(again.json?.outcome, 'finished-interrupted');
    } else {
      const rb = await cli(pair, lane, ['rollback', lane.db]);
      assert.equal(rb.code, 0, `round ${round} rollback: ${rb.stderr}${rb.stdout}`);
      assert.equal(rb.json?.outcome, 'done');
      // The rollback proves forward replication runs again (the target confirmed a mark written on the source).
      assert.equal(rb.json?.reverseVerified, true, `round ${round}: forward replication not proven: ${String(rb.json?.reverseProblem)}`);
      assert.deepEqual(rb.json?.warnings, [], `round ${round}: rollback warnings`);
    }
    await w.stop();
    add(w.acked);
    await check.rolledBack(lane, acked, `round ${round}, after the rollback`);
    st = await statusOf(pair, lane);
    assert.equal(st.s.replication, 'source -> target', `round ${round}: status after the rollback`);
    assert.equal(st.s.writesTo, 'source');
    assert.equal(st.s.rolledBack, true);
    assert.equal(st.code, 0, `round ${round}: status problems after the rollback: ${JSON.stringify(st.s.problems)}`);
  }

  // A third switchover still needs no copy.
  const w = await check.writersOn('source', lane.db);
  const last = await cli(pair, lane, ['switchover', lane.db]);
  assert.equal(last.code, 0, last.stderr + last.stdout);
  await w.stop();
  add(w.acked);
  await check.switched(lane, acked, 'after the third switchover');
  await check.cleanedUp(lane);
});
