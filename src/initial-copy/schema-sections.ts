// The schema in two halves around the data, as pg_dump sections: pre-data
// (types, tables with NOT NULL and CHECK, sequences, defaults) before the
// copy, post-data (indexes, constraints, foreign keys, triggers, rules)
// after it, because building an index once over all rows is far cheaper
// than maintaining it row by row during COPY.
//
// One schema-only archive is dumped through the exported snapshot, so the
// schema is exactly the one the copied rows belong to. Its table of contents
// (pg_restore --list) says which object each entry is (catalog and OID);
// index and constraint definitions are then read from the source catalogs so
// the expensive entries can be rebuilt in parallel and in cheaper forms:
//   - indexes: CREATE INDEX over N connections;
//   - primary keys and unique constraints on plain tables: CREATE UNIQUE
//     INDEX in that same parallel phase, then ADD CONSTRAINT ... USING INDEX
//     (a catalog change);
//   - foreign keys: ADD ... NOT VALID (no scan, brief lock), then VALIDATE
//     CONSTRAINT in parallel (a scan that blocks no writes);
//   - everything else (index attachments of partitioned indexes, triggers,
//     rules, policies, comments, ...) through pg_restore's own SQL.
// A resumed run makes only the objects the target does not have yet.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config/config.js';
import { connect, type Db } from '../pg/connect.js';
import { qualify, quoteIdent } from '../pg/quote.js';
import { sqlFile } from '../pg/sql.js';
import { runPsqlScript, runTool, type DumpTools } from '../pg/tools.js';
import { adaptForTarget, applyFailed, isExtensionComment, isOwnEntry } from './dump-entries.js';

export interface TocEntry {
  id: number;
  catalog: number;
  oid: number;
  desc: string;
  line: string;
}

// Longest first: "FK CONSTRAINT" must not be read as a table named "CONSTRAINT".
const DESCS = [
  'MATERIALIZED VIEW DATA', 'PUBLICATION TABLES IN SCHEMA', 'PUBLICATION TABLE', 'DEFAULT ACL', 'CHECK CONSTRAINT',
  'FK CONSTRAINT', 'INDEX ATTACH', 'EVENT TRIGGER', 'ROW SECURITY', 'SECURITY LABEL', 'STATISTICS DATA',
  'CONSTRAINT', 'INDEX', 'TRIGGER', 'RULE', 'POLICY', 'STATISTICS', 'COMMENT', 'ACL',
];

/** Parse `pg_restore --list` output; comment lines and unknown lines are skipped. */
export function parseToc(text: string): TocEntry[] {
  const out: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+); (\d+) (\d+) (.*)$/.exec(line);
    if (!m) continue;
    const rest = m[4]!;
    const desc = DESCS.find((d) => rest.startsWith(d + ' ')) ?? rest.split(' ')[0]!;
    out.push({ id: Number(m[1]), catalog: Number(m[2]), oid: Number(m[3]), desc, line });
  }
  return out;
}

/** A schema-only archive of the source database, in a temporary directory. */
export class SchemaArchive {
  /** own: pgshift's own publication entries (pgshiftPublicationEntries), left out of every list. */
  private constructor(readonly dir: string, readonly file: string, private readonly config: Config, private readonly database: string, private readonly tools: DumpTools, private readonly own: Set<string>) {}

  /** pg_dump of `tools` (see dumpTools: the rest of the archive's work is done with the same installation). */
  static async dump(config: Config, database: string, tools: DumpTools, own: Set<string>, snapshot?: string): Promise<SchemaArchive> {
    const pgDump = tools.pgDump;
    const dir = mkdtempSync(join(tmpdir(), 'pgshift-fastcopy-'));
    const file = join(dir, 'schema.dump');
    try {
      await runTool(pgDump, [
        '--schema-only', '--no-subscriptions', '--format=custom', '--exclude-schema=pgshift',
        ...(snapshot ? [`--snapshot=${snapshot}`] : []), `--file=${file}`,
      ], { ...config.source.conn, dbname: database }, config.source.password ?? config.source.conn.password);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return new SchemaArchive(dir, file, config, database, tools, own);
  }

  async toc(section: 'pre-data' | 'post-data'): Promise<TocEntry[]> {
    const pgRestore = this.tools.pgRestore;
    const r = await runTool(pgRestore, ['--list', `--section=${section}`, this.file], {}, undefined);
    // The application's publications are carried; pgshift's own are not (see schema.ts).
    return parseToc(r.stdout).filter((e) => !isOwnEntry(e.line, this.own));
  }

  /** The SQL pg_restore writes for these entries, adapted to the target's version. */
  async sqlFor(entries: TocEntry[], targetMajor: number): Promise<string> {
    const pgRestore = this.tools.pgRestore;
    const list = join(this.dir, `list-${entries[0]?.id ?? 0}-${entries.length}.txt`);
    const out = join(this.dir, `out-${entries[0]?.id ?? 0}-${entries.length}.sql`);
    writeFileSync(list, entries.map((e) => e.line).join('\n') + '\n');
    await runTool(pgRestore, ['--use-list', list, `--file=${out}`, this.file], {}, undefined);
    return adaptForTarget(readFileSync(out, 'utf8'), targetMajor);
  }

  /** Run SQL on the target database in one transaction, stopping at the first error. */
  async applyOnTarget(sql: string, what: string): Promise<void> {
    try {
      await runPsqlScript(this.tools.psql, { ...this.config.target.conn, dbname: this.database }, this.config.target.password ?? this.config.target.conn.password, sql);
    } catch (e) {
      throw applyFailed(e, {
        code: 'fast_copy_schema_failed', database: this.database, what: `applying the ${what} to the target database "${this.database}"`,
        rerun: `"pgshift start ${this.database} --copy fast" (it resumes)`, state: `Nothing of the ${what} was applied (one transaction).`,
      });
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Pre-data, minus COMMENT ON EXTENSION (only the extension's owner may set it; see schema.ts),
 * plus `extraSql` in the same transaction (a created database's own properties).
 */
export async function applyPreData(archive: SchemaArchive, targetMajor: number, extraSql = ''): Promise<void> {
  const entries = (await archive.toc('pre-data')).filter((e) => !isExtensionComment(e.line));
  await archive.applyOnTarget(await archive.sqlFor(entries, targetMajor) + extraSql, 'schema (pre-data part)');
}

/** One statement of the post-data build, with what it makes (for resumption) and where. */
interface Job {
  label: string;
  sql: string;
  table: string;
}

export interface PostDataReport {
  indexes: number;
  constraints: number;
  foreignKeys: number;
  other: number;
  skippedExisting: number;
  ms: number;
}

type IndexRow = { oid: string; schema: string; name: string; table_schema: string; table_name: string; def: string };
type ConstraintRow = {
  oid: string; contype: string; name: string; table_schema: string; table_name: string; table_kind: string; is_partition: boolean;
  def: string; index_def: string | null; index_kind: string | null; deferrable: boolean; deferred: boolean; validated: boolean;
};

type Probe = { kind: 'index' | 'constraint' | 'trigger' | 'rule' | 'policy'; schema: string; table: string; name: string };

async function existing(target: Db, probes: Probe[]): Promise<Map<number, { validated: boolean }>> {
  if (probes.length === 0) return new Map();
  const rows = await target.query<{ i: number; validated: boolean }>(sqlFile('fastcopy-target-objects'), [
    probes.map((p) => p.kind), probes.map((p) => p.schema), probes.map((p) => p.table), probes.map((p) => p.name)]);
  return new Map(rows.map((r) => [r.i - 1, { validated: r.validated }]));
}

async function runParallel(config: Config, database: string, jobs: Job[], parallel: number, onDone: (j: Job, ms: number) => void, signal?: AbortSignal): Promise<void> {
  const queue = [...jobs];
  let failed: unknown;
  const n = Math.max(1, Math.min(parallel, queue.length));
  await Promise.all(Array.from({ length: n }, async () => {
    if (queue.length === 0) return;
    const db = await connect('target', config.target, { database, applicationName: 'pgshift fast copy' });
    try {
      await postDataSession(db);
      for (;;) {
        if (failed !== undefined || signal?.aborted) return;
        const j = queue.shift();
        if (!j) return;
        const t0 = Date.now();
        try {
          await db.query(j.sql);
        } catch (e) {
          failed ??= e;
          throw e;
        }
        onDone(j, Date.now() - t0);
      }
    } finally {
      await db.close();
    }
  }));
}

async function postDataSession(db: Db): Promise<void> {
  // Definitions were read with an empty search_path, so every name in them is qualified.
  await db.query("SELECT pg_catalog.set_config('search_path', '', false)");
  // Index builds sort in memory up to this, then spill to disk.
  await db.query("SET maintenance_work_mem = '256MB'");
}

/**
 * Build the post-data part on the target (see the file header). `onStep`
 * reports each finished statement.
 */
export async function buildPostData(opts: {
  config: Config;
  database: string;
  archive: SchemaArchive;
  source: Db;
  target: Db;
  jobs: number;
  onStep?: (label: string, ms: number) => void;
  signal?: AbortSignal;
}): Promise<PostDataReport> {
  const started = Date.now();
  const { source, target } = opts;
  const toc = await opts.archive.toc('post-data');
  const indexEntries = toc.filter((e) => e.desc === 'INDEX');
  const constraintEntries = toc.filter((e) => e.desc === 'CONSTRAINT' || e.desc === 'FK CONSTRAINT');
  const attachEntries = toc.filter((e) => e.desc === 'INDEX ATTACH');
  const handled = new Set([...indexEntries, ...constraintEntries, ...attachEntries].map((e) => e.id));
  const restEntries = toc.filter((e) => !handled.has(e.id));

  await source.query("SELECT pg_catalog.set_config('search_path', '', false)");
  let indexes: IndexRow[];
  let constraints: ConstraintRow[];
  let restObjects: { kind: Probe['kind']; table_schema: string; table_name: string; name: string }[];
  try {
    indexes = await source.query<IndexRow>(sqlFile('fastcopy-indexes'), [indexEntries.map((e) => e.oid)]);
    constraints = await source.query<ConstraintRow>(sqlFile('fastcopy-constraints'), [constraintEntries.map((e) => e.oid)]);
    restObjects = await source.query(sqlFile('fastcopy-rest-objects'), [restEntries.map((e) => e.oid)]);
  } finally {
    await source.query('RESET search_path');
  }
  const byOrder = new Map(constraintEntries.map((e, i) => [e.oid, i]));
  constraints.sort((a, b) => byOrder.get(Number(a.oid))! - byOrder.get(Number(b.oid))!);

  const probes: Probe[] = [
    ...indexes.map((i): Probe => ({ kind: 'index', schema: i.schema, table: i.table_name, name: i.name })),
    ...constraints.map((c): Probe => ({ kind: 'constraint', schema: c.table_schema, table: c.table_name, name: c.name })),
  ];
  const have = await existing(target, probes);
  let skippedExisting = 0;
  const indexHave = (i: number): boolean => have.has(i);
  const conHave = (i: number): { validated: boolean } | undefined => have.get(indexes.length + i);

  // Phase 1 (parallel): indexes, unique indexes behind primary keys and
  // unique constraints of plain tables, and the other non-FK constraints of
  // plain tables.
  const phase1: Job[] = [];
  const attachUsingIndex: Job[] = [];
  const serialConstraints: Job[] = [];
  const fkAdds: Job[] = [];
  const fkValidates: Job[] = [];
  indexes.forEach((ix, i) => {
    if (indexHave(i)) skippedExisting++;
    else phase1.push({ label: `index ${ix.schema}.${ix.name}`, sql: ix.def, table: qualify(ix.table_schema, ix.table_name) });
  });
  let foreignKeys = 0;
  const missingIndexProbes: Probe[] = [];
  constraints.forEach((c, i) => {
    const tableSql = qualify(c.table_schema, c.table_name);
    const nameSql = quoteIdent(c.name);
    // sql-lint: safe (a definition printed by pg_get_constraintdef on the source)
    const addSql = `ALTER TABLE ONLY ${tableSql} ADD CONSTRAINT ${nameSql} ${c.def}`;
    const label = `constraint ${c.table_schema}.${c.table_name}.${c.name}`;
    const done = conHave(i);
    if (c.contype === 'f') {
      if (done?.validated || (done && !c.validated)) {
        skippedExisting++;
        return;
      }
      foreignKeys++;
      // NOT VALID is refused on partitioned tables before 18, and a constraint
      // NOT VALID on the source stays so.
      if (c.table_kind === 'p' || !c.validated) {
        if (!done) fkAdds.push({ label, sql: addSql, table: tableSql });
      } else {
        if (!done) fkAdds.push({ label, sql: `${addSql} NOT VALID`, table: tableSql });
        fkValidates.push({ label: `validate ${c.table_schema}.${c.table_name}.${c.name}`, sql: `ALTER TABLE ONLY ${tableSql} VALIDATE CONSTRAINT ${nameSql}`, table: tableSql });
      }
      return;
    }
    if (done) {
      skippedExisting++;
      return;
    }
    const plainUnique = (c.contype === 'p' || c.contype === 'u') && c.table_kind === 'r' && !c.is_partition && c.index_def && c.index_kind === 'i';
    if (plainUnique) {
      const kindSql = c.contype === 'p' ? 'PRIMARY KEY' : 'UNIQUE';
      const deferSql = c.deferrable ? (c.deferred ? ' DEFERRABLE INITIALLY DEFERRED' : ' DEFERRABLE') : '';
      missingIndexProbes.push({ kind: 'index', schema: c.table_schema, table: c.table_name, name: c.name });
      phase1.push({ label: `unique index ${c.table_schema}.${c.name}`, sql: c.index_def!, table: tableSql });
      attachUsingIndex.push({ label, sql: `ALTER TABLE ONLY ${tableSql} ADD CONSTRAINT ${nameSql} ${kindSql} USING INDEX ${nameSql}${deferSql}`, table: tableSql });
    } else if (c.table_kind === 'r') {
      phase1.push({ label, sql: addSql, table: tableSql });
    } else {
      serialConstraints.push({ label, sql: addSql, table: tableSql });
    }
  });
  // A unique index left by a run killed between its build and its ADD CONSTRAINT.
  const leftIndexes = await existing(target, missingIndexProbes);
  const phase1Todo = phase1.filter((j) => {
    if (!j.label.startsWith('unique index ')) return true;
    const idx = missingIndexProbes.findIndex((p) => `unique index ${p.schema}.${p.name}` === j.label);
    return !leftIndexes.has(idx);
  });

  const step = (j: Job, ms: number): void => opts.onStep?.(j.label, ms);
  await runParallel(opts.config, opts.database, phase1Todo, opts.jobs, step, opts.signal);
  await runParallel(opts.config, opts.database, [...attachUsingIndex, ...serialConstraints], 1, step, opts.signal);
  if (attachEntries.length > 0) {
    await opts.archive.applyOnTarget(await opts.archive.sqlFor(attachEntries, target.version.major), 'index attachments (post-data part)');
  }
  await runParallel(opts.config, opts.database, fkAdds, 1, step, opts.signal);
  await runParallel(opts.config, opts.database, fkValidates, opts.jobs, step, opts.signal);

  // The rest goes in one transaction: all of it is there, or none of it.
  let other = 0;
  if (restEntries.length > 0) {
    const restProbes = restObjects.map((o): Probe => ({ kind: o.kind, schema: o.table_schema, table: o.table_name, name: o.name }));
    const restHave = await existing(target, restProbes);
    if (restProbes.length > 0 && restHave.size === restProbes.length) {
      skippedExisting += restEntries.length;
    } else {
      await opts.archive.applyOnTarget(await opts.archive.sqlFor(restEntries, target.version.major), 'triggers, rules and other post-data objects');
      other = restEntries.length;
    }
  }
  return {
    indexes: phase1Todo.filter((j) => j.label.startsWith('index ')).length,
    constraints: attachUsingIndex.length + serialConstraints.length + phase1Todo.filter((j) => j.label.startsWith('constraint ')).length,
    foreignKeys,
    other,
    skippedExisting,
    ms: Date.now() - started,
  };
}
