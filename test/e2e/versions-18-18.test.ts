// The version matrix (README "Versions"): 18 -> 18, a move to another
// cluster of the same major, under write load (versions-scenario.ts) with a
// rollback. Same major means a binary subscription; from 16 its initial
// copy is binary too, so a table with a column type that has no binary
// send/receive (isn's isbn here, inside a domain and an array) must be
// copied as text: it failed with "no binary input function available".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, tableRows } from '../helpers/harness.js';
import { cli, versionsRun } from '../helpers/versions-scenario.js';
import { waitForCatchUp } from '../helpers/replication-scenario.js';
import { namesFor } from '../../src/replication/names.js';

let pair: Pair;
before(async () => {
  pair = await Pair.start(18, 18);
});
after(async () => {
  await pair?.stop();
});

test('18 -> 18 under write load: check, run, verify, switchover, rollback, cleanup', async () => {
  await versionsRun(pair, { prefix: 'v18_18', rollback: true });
});

test('18 -> 18: a table with a column type without binary I/O is copied, the subscription left in text mode', async () => {
  const db = await pair.freshDatabase('isn');
  await pair.source.sql(`CREATE EXTENSION isn;
    CREATE DOMAIN book_code AS isbn;
    CREATE TABLE books (id int PRIMARY KEY, codes book_code[], title text);
    INSERT INTO books SELECT g, ARRAY['978-0-393-04002-9']::book_code[], 'title ' || g FROM generate_series(1, 500) g;`, [], db);
  const cfg = await pair.writeConfig([db]);
  const run = await cli(pair, 'run', ['-c', cfg, '--yes', 'run', db, '--timeout', '90s']);
  assert.match(run.stderr, /binary transfer left off: isbn \(public\.books\.codes\)/);
  await pair.source.sql("INSERT INTO books VALUES (501, ARRAY['978-0-393-04002-9']::book_code[], 'late')", [], db);
  await waitForCatchUp(pair.source, pair.target, db);
  assert.deepEqual(await tableRows(pair.target, db, 'public', 'books'), await tableRows(pair.source, db, 'public', 'books'));
  const [sub] = await pair.target.sql<{ subbinary: boolean }>('SELECT subbinary FROM pg_subscription WHERE subname = $1', [namesFor(db).subscription], db);
  assert.equal(sub!.subbinary, false);
  await cli(pair, 'cleanup', ['-c', cfg, '--yes', 'cleanup', db]);
});
