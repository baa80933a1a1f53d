// Which pg_dump, pg_restore and psql the schema copy runs (src/pg/tools.ts
// dumpTools), on the client programs CI installs: the system's 15 in
// /usr/lib/postgresql/15/bin and 18 built into /usr/lib/postgresql/18/bin.
// PGSHIFT_PG_BINDIR cases use directories of links to those programs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpTools } from '../../src/pg/tools.js';
import { ToolError } from '../../src/errors.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A directory holding links to the given programs: name -> the major whose program it is. */
function binDir(tools: Record<string, number>): string {
  const d = mkdtempSync(join(tmpdir(), 'pgshift-bindir-'));
  dirs.push(d);
  for (const [name, major] of Object.entries(tools)) symlinkSync(`/usr/lib/postgresql/${major}/bin/${name}`, join(d, name));
  return d;
}

async function withBindir<T>(dir: string | undefined, fn: () => Promise<T>): Promise<T> {
  const before = process.env.PGSHIFT_PG_BINDIR;
  if (dir === undefined) delete process.env.PGSHIFT_PG_BINDIR;
  else process.env.PGSHIFT_PG_BINDIR = dir;
  try {
    return await fn();
  } finally {
    if (before === undefined) delete process.env.PGSHIFT_PG_BINDIR;
    else process.env.PGSHIFT_PG_BINDIR = before;
  }
}

test('the target major when installed, else the newest not newer than the target, else the oldest newer one', async () => {
  await withBindir(undefined, async () => {
    const exact = await dumpTools(14, 18);
    assert.equal(exact.pgDump.major, 18);
    assert.match(exact.reason, /^the target's major version \(18\)/);
    const older = await dumpTools(12, 17);
    assert.equal(older.pgDump.major, 15);
    assert.match(older.reason, /not newer than the target's \(17\)/);
    const newer = await dumpTools(10, 14);
    assert.equal(newer.pgDump.major, 15);
    assert.match(newer.reason, /oldest installed .* adapted to the older target/);
    assert.equal((await dumpTools(16, 17)).pgDump.major, 18);
    for (const t of [exact, older, newer]) {
      assert.equal(t.pgRestore.major, t.pgDump.major);
      assert.equal(t.psql.major, t.pgDump.major);
      assert.equal(t.psql.path.replace(/psql$/, ''), t.pgDump.path.replace(/pg_dump$/, ''), 'psql from the pg_dump\'s directory');
    }
  });
});

test('PGSHIFT_PG_BINDIR is the only place looked at; a pg_dump older than the source is refused', async () => {
  const only15 = binDir({ pg_dump: 15, pg_restore: 15, psql: 15 });
  await withBindir(only15, async () => {
    const t = await dumpTools(14, 18);
    assert.equal(t.pgDump.major, 15);
    assert.ok(t.pgDump.path.startsWith(only15));
    await assert.rejects(dumpTools(16, 18), (e: unknown) => e instanceof ToolError && e.code === 'tool_too_old'
      && /pg_dump is version 15 .* the source server is version 16/.test(e.message)
      && /postgresql-client-18/.test(e.hint ?? '') && /PGSHIFT_PG_BINDIR/.test(e.hint ?? ''));
  });
});

test('pg_dump, pg_restore and psql of one installation: a psql of another version beside pg_dump 18 is refused', async () => {
  // pg_dump 18 writes \restrict, which a psql older than its minor release does not know.
  const mixed = binDir({ pg_dump: 18, pg_restore: 18, psql: 15 });
  await withBindir(mixed, async () => {
    await assert.rejects(dumpTools(16, 18), (e: unknown) => e instanceof ToolError && e.code === 'tool_missing'
      && /pg_dump 18 .* has no pg_restore and psql of the same version beside it/.test(e.message));
  });
  const none = binDir({});
  await withBindir(none, async () => {
    await assert.rejects(dumpTools(12, 17), (e: unknown) => e instanceof ToolError && e.code === 'tool_missing' && /pg_dump not found in PGSHIFT_PG_BINDIR/.test(e.message));
  });
});
