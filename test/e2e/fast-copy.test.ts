// pgshift start --copy fast (library entry startFastCopy), 14 -> 16: the
// fixture copied under continuous write load and identical after catch-up;
// a fast copy SIGKILLed mid-copy and re-run.
import { test, before, after } from 'node:test';
import { Pair, versionPairs } from '../helpers/harness.js';
import { fastCopyKilledAndRerun, fastCopyUnderLoad } from './fast-copy-scenario.js';

const [[from, to]] = versionPairs([[14, 16]]) as [[number, number]];
let pair: Pair;
before(async () => {
  pair = await Pair.start(from, to);
});
after(async () => {
  await pair?.stop();
});

test(`fast copy under write load, ${from} -> ${to}`, async () => {
  await fastCopyUnderLoad(pair, 'fast');
});

test(`fast copy killed mid-copy, then re-run, ${from} -> ${to}`, async () => {
  await fastCopyKilledAndRerun(pair, 'fastkill');
});
