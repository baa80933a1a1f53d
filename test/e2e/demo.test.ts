// The demo is the first thing a newcomer runs: it must work from a fresh
// clone and prove what it claims (verify identical, every acknowledged write
// on the target, no failed transaction through PgBouncer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runCli } from '../helpers/harness.js';
import { PGBOUNCER_BIN } from '../../src/embedded/pgbouncer.js';

test('pgshift demo runs the whole flow and exits 0', async () => {
  const r = await runCli(['--json', 'demo'], { timeoutMs: 900_000 });
  assert.equal(r.code, 0, r.stderr.slice(-4000));
  const result = JSON.parse(r.stdout) as {
    ok: boolean; pauseMethod: string; verify: { identical: boolean }; loadCheck: { ok: boolean; acknowledged: number; missing: number };
    load: { transactions: number; errors: number }; writePauseMs: number; timeline: { phase: string }[];
  };
  assert.equal(result.ok, true);
  assert.equal(result.verify.identical, true);
  assert.equal(result.loadCheck.ok, true);
  assert.equal(result.loadCheck.missing, 0);
  assert.ok(result.loadCheck.acknowledged > 0);
  assert.equal(result.load.transactions, result.loadCheck.acknowledged);
  if (existsSync(PGBOUNCER_BIN)) {
    assert.equal(result.pauseMethod, 'pgbouncer');
    assert.equal(result.load.errors, 0, 'a client transaction failed through PgBouncer');
  }
  assert.ok(result.writePauseMs > 0);
  assert.ok(result.timeline.some((p) => p.phase.startsWith('switchover')));
});
