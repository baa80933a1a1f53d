// pgshift run on 12 -> 17: the fixture schema (identity/serial, generated
// column, enums, domains, composites, arrays, jsonb, TOASTed bytea, a
// partitioned table, FKs with cascades, deferrable constraints, triggers,
// PK-less tables with a unique index and with duplicates, hostile names in
// two schemas) replicated while writes run on the source the whole time;
// every table's rows compared on both sides by the test.
import { test, before, after } from 'node:test';
import { Pair } from '../helpers/harness.js';
import { runUnderLoad } from '../helpers/replication-scenario.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(12, 17);
});
after(async () => {
  await pair?.stop();
});

test('run replicates the fixture under write load, 12 -> 17', async () => {
  await runUnderLoad(pair, 'shop');
});
