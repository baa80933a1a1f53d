// switchover SIGKILLed before and after every phase (and right after each
// fence record phase), under a write load of the role "app" whose
// acknowledged writes are recorded, with the revoke and readonly pause
// methods. After each kill:
//   - the fence record on the source says where the run stopped, the source
//     refuses "app" while fenced, and `pgshift status` reports the fence and
//     how to undo it (exit 1) — after SIGKILL pgshift itself said nothing;
//   - before the point of no return, `pgshift rollback` gives the source its
//     writes back (or says there is nothing to roll back when the run died
//     before pausing), `pgshift cleanup` lifts the fence as it drops
//     replication, and re-running `pgshift switchover` does it again;
//   - after it, re-running `pgshift switchover` finishes it;
// and then every acknowledged write is on the side that now takes writes,
// none twice, the sequence is ahead there (an insert as "app" takes the next
// id), the other side refuses "app", and exactly the expected pgshift
// objects exist (one reverse subscription and slot, no leftovers). Errors
// pgshift sees itself while the source is fenced name the command and the
// SQL that undo it. Rollback kills: kill-rollback.test.ts.
//
// Every point runs by default; PGSHIFT_KILL_MATRIX=quick runs a third of the
// lanes (a quick local check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, versionPairs } from '../helpers/harness.js';
import { appCanWrite, cli, faultyCli, fenceRow, hasRecord, isCommitted, isDone, killMatrixPair, KillChecks, matrixLanes, newLane, type LanePlan } from './kill-fixture.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];
let pair: Pair;
let check: KillChecks;

killMatrixPair(FROM, TO, (p, c) => {
  pair = p;
  check = c;
});


// Every switchover point once or more; both recoveries before the point of no return.
const LANES: LanePlan[] = [
  { method: 'revoke', undone: ['before:preflight', 'after:pause'], final: 'before:stop-feed' },
  { method: 'readonly', undone: ['after:preflight', 'before:pause'], final: 'after:stop-feed' },
  { method: 'revoke', undone: ['fence:pausing', 'before:fence'], final: 'before:reverse' },
  { method: 'readonly', undone: ['after:fence', 'fence:paused'], final: 'after:reverse' },
  { method: 'revoke', undone: ['before:catch-up', 'after:catch-up'], final: 'before:resume' },
  { method: 'readonly', undone: ['before:sequences'], final: 'after:resume' },
  { method: 'revoke', undone: ['after:sequences'], final: 'fence:done' },
  { method: 'readonly', undone: ['before:copy'], final: 'after:cleanup-old' },
  { method: 'revoke', undone: ['after:copy'], final: 'after:pause' },
  { method: 'readonly', undone: ['after:copy'], final: 'fence:committed' },
  { method: 'revoke', undone: [], final: 'after:copy' },
  { method: 'revoke', undone: [], final: 'before:cleanup-old' },
  { method: 'readonly', undone: [], cleanupAt: 'after:pause' },
  { method: 'revoke', undone: [], cleanupAt: 'after:catch-up' },
];
const lanes = matrixLanes(LANES);

for (const [i, plan] of lanes.entries()) {
  const label = [...plan.undone.map((p) => `${p} -> rollback`), plan.final ? `${plan.final} -> switchover` : `${plan.cleanupAt} -> cleanup`].join(', ');
  test(`switchover ${FROM}->${TO} (${plan.method}) killed ${label}`, async () => {
    const lane = await newLane(pair, plan.method, `kills${i + 1}`);

    for (const [n, point] of plan.undone.entries()) {
      const w = await check.writersOn('source', lane.db);
      await check.killed(lane, 'switchover', point);
      await check.afterKill(lane, 'source', 'switchover', point, { status: n === 0 });
      const r = await cli(pair, lane, ['rollback', lane.db]);
      if (hasRecord(point)) {
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.equal(r.json?.outcome, 'undone-interrupted');
      } else {
        assert.equal(r.code, 1, r.stderr + r.stdout);
        assert.match(JSON.stringify(r.json), /no finished switchover to roll back/);
      }
      await w.stop();
      await check.replicating(lane, w.acked, `switchover killed ${point}, then rollback`);
    }

    if (plan.cleanupAt) {
      const w = await check.writersOn('source', lane.db);
      await check.killed(lane, 'switchover', plan.cleanupAt);
      await check.afterKill(lane, 'source', 'switchover', plan.cleanupAt, { status: true });
      await check.cleanedUp(lane);
      await w.stop();
      assert.equal(await fenceRow(pair.source, lane.db), undefined);
      assert.equal(await appCanWrite(pair.source, lane.db), true, 'cleanup did not give the source its writes back');
      return;
    }

    const point = plan.final!;
    const w = await check.writersOn('source', lane.db);
    await check.killed(lane, 'switchover', point);
    await check.afterKill(lane, 'source', 'switchover', point, { status: true });
    const r = await cli(pair, lane, ['switchover', lane.db]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.json?.outcome, isDone(point) ? 'already-done' : isCommitted(point) ? 'finished-interrupted' : 'done');
    await w.stop();
    await check.switched(lane, w.acked, `switchover killed ${point}, then switchover`);
    await check.cleanedUp(lane);
  });
}

test(`switchover ${FROM}->${TO}: errors pgshift sees while the source is fenced say how to undo it`, async () => {
  const lane = await newLane(pair, 'revoke', 'killerr');
  const run = (fault: string) => faultyCli(pair, ['-c', lane.cfg, '--yes', 'switchover', lane.db], fault);

  // A failure inside the pause window is undone at once: writes back on the source.
  let w = await check.writersOn('source', lane.db);
  let r = await run('error:after:catch-up');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(await fenceRow(pair.source, lane.db), undefined);
  await w.stop();
  await check.replicating(lane, w.acked, 'failed catch-up');

  // ... and when giving the writes back fails too, the error names the command and the SQL that do it.
  w = await check.writersOn('source', lane.db);
  r = await run('error:after:catch-up,error:before:undo');
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /is fenced \(writes paused by revoke\)/);
  assert.match(r.stderr, /pgshift -c \S+ rollback \S+" to give the source its writes back/);
  assert.match(r.stderr, /GRANT CONNECT ON DATABASE/);
  assert.notEqual(await appCanWrite(pair.source, lane.db), true);
  const back = await cli(pair, lane, ['rollback', lane.db]);
  assert.equal(back.json?.outcome, 'undone-interrupted', back.stderr + back.stdout);
  await w.stop();
  await check.replicating(lane, w.acked, 'failed undo, then rollback');

  // Killed right after that undo gave the writes back, before the record was removed: status still
  // says so (it cannot tell), and the next command tidies up.
  w = await check.writersOn('source', lane.db);
  r = await run('error:after:catch-up,after:undo');
  assert.equal(r.signal, 'SIGKILL', r.stderr);
  assert.equal((await fenceRow(pair.source, lane.db))?.phase, 'paused');
  const tidy = await cli(pair, lane, ['rollback', lane.db]);
  assert.equal(tidy.json?.outcome, 'undone-interrupted', tidy.stderr + tidy.stdout);
  await w.stop();
  await check.replicating(lane, w.acked, 'killed after the undo, then rollback');

  // A failure after the point of no return: the error says to finish it, and re-running does.
  w = await check.writersOn('source', lane.db);
  r = await run('error:after:reverse');
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /stopped after its point of no return/);
  assert.match(r.stderr, /pgshift -c \S+ switchover \S+" to finish it/);
  // rollback refuses to start until the switchover is finished, and says so.
  const refused = await cli(pair, lane, ['rollback', lane.db]);
  assert.equal(refused.code, 1, refused.stderr + refused.stdout);
  assert.match(JSON.stringify(refused.json), /passed its point of no return and must be finished first/);
  const again = await cli(pair, lane, ['switchover', lane.db]);
  assert.equal(again.json?.outcome, 'finished-interrupted', again.stderr + again.stdout);
  await w.stop();
  await check.switched(lane, w.acked, 'failed reverse, then switchover');
  await check.cleanedUp(lane);
});
