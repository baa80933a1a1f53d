// Config mistakes caught before anything is copied: an exclude pattern with a
// typo (it would replicate the table it meant to leave out) is a check
// warning naming the pattern, in check and in run's check step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs } from '../helpers/harness.js';
import type { CheckReport } from '../../src/steps/check.js';

const [[FROM, TO]] = versionPairs([[16, 17]]) as [[number, number]];
let pair: Pair;

before(async () => {
  pair = await Pair.start(FROM, TO);
});

after(async () => {
  await pair?.stop();
});

test('an exclude pattern that matches no table is a warning naming it; the ones that match are not', async () => {
  const db = await pair.freshDatabase('excl');
  await pair.source.sql('CREATE SCHEMA audit; CREATE TABLE public.pgbench_accounts (id int PRIMARY KEY); CREATE TABLE audit.log (id int PRIMARY KEY)', [], db);
  const cfg = await pair.writeConfig({ [db]: { exclude: ['public.pgbench_acounts', 'audit.*', 'pgbench_accounts', 'nosuch.*'] } });
  const r = await runCli(['-c', cfg, '--json', 'check', db], { env: pair.env() });
  const report = JSON.parse(r.stdout) as CheckReport;
  const found = report.findings.filter((f) => f.id === 'exclude-unmatched');
  assert.equal(found.length, 1, JSON.stringify(report.findings, null, 1));
  assert.equal(found[0]!.severity, 'warn');
  assert.deepEqual(found[0]!.objects, ['public.pgbench_acounts', 'nosuch.*']);
  assert.equal(r.code, 0, 'a warning does not fail check');
  const human = await runCli(['-c', cfg, 'check', db], { env: pair.env() });
  assert.match(human.stderr, /warn\s+source\s+2 exclude patterns match no table in this database\n\s+public\.pgbench_acounts, nosuch\.\*/);
  assert.match(human.stderr, new RegExp(`fix: Check the spelling in databases\\.${db}\\.exclude`));
  // A config without typos has no such finding.
  const clean = await pair.writeConfig({ [db]: { exclude: ['audit.*'] } });
  const ok = JSON.parse((await runCli(['-c', clean, '--json', 'check', db], { env: pair.env() })).stdout) as CheckReport;
  assert.ok(!ok.findings.some((f) => f.id === 'exclude-unmatched'));
});
