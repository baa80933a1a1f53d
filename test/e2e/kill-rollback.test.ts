// rollback SIGKILLed before and after every phase, after a switchover, with
// "app" writing to the target (acknowledged writes recorded), under the
// revoke and readonly pause methods. After each kill the fence record on the
// target says where the rollback stopped and `pgshift status` reports it
// with the way out; then:
//   - before the point of no return, `pgshift switchover` gives the target
//     its writes back (the switchover stands, reverse replication still runs),
//     or re-running `pgshift rollback` does the rollback again;
//   - after it, re-running `pgshift rollback` finishes it;
// and every acknowledged write is on the side that takes writes, none twice,
// the sequence is ahead there, the other side refuses "app", and exactly the
// expected pgshift objects exist (the reverse subscription and slot gone
// after a rollback, one of each while the switchover stands).
//
// Every point runs by default; PGSHIFT_KILL_MATRIX=quick runs a third of the
// lanes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, versionPairs } from '../helpers/harness.js';
import { loadConfig } from '../../src/config/config.js';
import { switchover } from '../../src/steps/switchover.js';
import { cli, hasRecord, isCommitted, isDone, killMatrixPair, KillChecks, matrixLanes, newLane, type LanePlan } from './kill-fixture.js';

const [[FROM, TO]] = versionPairs([[13, 16]]) as [[number, number]];
let pair: Pair;
let check: KillChecks;

killMatrixPair(FROM, TO, (p, c) => {
  pair = p;
  check = c;
});


const LANES: LanePlan[] = [
  { method: 'revoke', undone: ['before:preflight', 'after:pause'], final: 'before:stop-feed' },
  { method: 'readonly', undone: ['after:preflight', 'before:pause'], final: 'after:stop-feed' },
  { method: 'revoke', undone: ['fence:pausing', 'before:fence'], final: 'before:resume' },
  { method: 'readonly', undone: ['after:fence', 'fence:paused'], final: 'after:resume' },
  { method: 'revoke', undone: ['before:catch-up', 'after:catch-up'], final: 'before:cleanup-old' },
  { method: 'readonly', undone: ['before:sequences', 'after:sequences'], final: 'after:cleanup-old' },
  { method: 'revoke', undone: ['before:copy'], final: 'after:copy' },
  { method: 'readonly', undone: ['after:copy'], final: 'after:pause' },
];
const lanes = matrixLanes(LANES);

for (const [i, plan] of lanes.entries()) {
  const label = [...plan.undone.map((p) => `${p} -> switchover`), `${plan.final} -> rollback`].join(', ');
  test(`rollback ${FROM}->${TO} (${plan.method}) killed ${label}`, async () => {
    const lane = await newLane(pair, plan.method, `killr${i + 1}`);
    const done = await switchover(loadConfig(lane.cfg, pair.env()), lane.db);
    assert.equal(done.outcome, 'done');

    for (const [n, point] of plan.undone.entries()) {
      const w = await check.writersOn('target', lane.db);
      await check.killed(lane, 'rollback', point);
      await check.afterKill(lane, 'target', 'rollback', point, { status: n === 0 });
      const r = await cli(pair, lane, ['switchover', lane.db]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.json?.outcome, hasRecord(point) ? 'undone-interrupted' : 'already-done');
      await w.stop();
      await check.switched(lane, w.acked, `rollback killed ${point}, then switchover`);
    }

    const point = plan.final!;
    const w = await check.writersOn('target', lane.db);
    await check.killed(lane, 'rollback', point);
    await check.afterKill(lane, 'target', 'rollback', point, { status: true });
    const r = await cli(pair, lane, ['rollback', lane.db]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.json?.outcome, isDone(point) ? 'already-done' : isCommitted(point) ? 'finished-interrupted' : 'done');
    await w.stop();
    await check.rolledBack(lane, w.acked, `rollback killed ${point}, then rollback`);
    await check.cleanedUp(lane);
  });
}
