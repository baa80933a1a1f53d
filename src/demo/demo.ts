// demo: the whole pgshift flow on two embedded clusters of different major
// versions, under a ledgered write load (through PgBouncer when it is
// installed), with a timeline of every phase. Everything it starts is
// removed at the end unless `keep` is set: the clusters, PgBouncer, and its
// work directory (config, ledger) in the temp dir, also when it fails or is
// interrupted.

import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { EmbeddedCluster, registerResource, startClusters, unregisterResource } from '../embedded/cluster.js';
import { findBinaries } from '../embedded/binaries.js';
import { EmbeddedPgBouncer, PGBOUNCER_BIN } from '../embedded/pgbouncer.js';
import { createSampleApp } from './sample-app.js';
import { parseConfig, type Config } from '../config/config.js';
import { formatConninfo } from '../config/conninfo.js';
import type { Emit } from '../events.js';
import { silent, warning } from '../events.js';
import { runPipeline } from '../steps/run.js';
import { verifyDatabase } from '../verify/index.js';
import { switchover } from '../steps/switchover.js';
import { startLoad, checkLedger, type LoadReport, type LoadCheckReport } from '../load/index.js';
import type { VerifyReport } from '../verify/index.js';
import type { MoveResult } from '../switchover/move-writes.js';
import { ProblemError } from '../errors.js';
import { dumpTools } from '../pg/tools.js';
import { versionFromNum } from '../pg/version.js';
import { refuseUnsupportedVersions } from '../checks/preflight.js';
import { waitFor } from '../util/wait.js';
import { timedPhase } from '../util/phase.js';

export interface DemoOptions {
  from?: number;
  to?: number;
  keep?: boolean;
  /** Sample data size: 1 is about 300,000 rows. */
  scale?: number;
  clients?: number;
  emit?: Emit;
  signal?: AbortSignal;
}

export interface DemoPhase {
  phase: string;
  ms: number;
  detail?: string;
}

export interface DemoResult {
  ok: boolean;
  from: number;
  to: number;
  database: string;
  pauseMethod: 'pgbouncer' | 'revoke';
  rows: number;
  timeline: DemoPhase[];
  totalMs: number;
  writePauseMs?: number;
  load: LoadReport;
  verify: { identical: boolean; tables: number; differences: number };
  loadCheck: LoadCheckReport;
  switchover: MoveResult;
  kept?: { source: string; target: string; pgbouncer?: string; config: string; dir: string };
}

/** The demo's database (its journal and report are about it). */
export const DEMO_DATABASE = 'shop';
const DATABASE = DEMO_DATABASE;

export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const from = opts.from ?? 13;
  const to = opts.to ?? 17;
  const t0 = performance.now();
  // What would stop the flow half-way is refused before anything starts:
  // the pair of versions, their server binaries, a pg_dump for the source.
  refuseUnsupportedVersions(versionFromNum(from * 10000), versionFromNum(to * 10000));
  findBinaries(from);
  findBinaries(to);
  await dumpTools(from, to);

  const demo = new DemoRun(opts, from, to);
  try {
    const servers = await demo.startServers();
    const flow = await demo.migrateUnderLoad(servers);
    const result = demoResult(demo, servers, flow, performance.now() - t0);
    if (opts.keep) demo.keep(result, servers);
    if (!result.ok) throw demoFailed(result, flow);
    return result;
  } finally {
    await demo.removeUnlessKept();
  }
}

/** What the demo started for the flow: the clusters, the sample database, PgBouncer when installed, the config naming them. */
interface DemoServers {
  source: EmbeddedCluster;
  target: EmbeddedCluster;
  bouncer?: EmbeddedPgBouncer;
  rows: number;
  config: Config;
  configFile: string;
}

/** What the flow under load found. */
interface DemoFlow {
  verify: VerifyReport;
  moved: MoveResult;
  loadReport: LoadReport;
  loadCheck: LoadCheckReport;
}

/**
 * One demo: its phases, timed (src/util/phase.ts), as events and for its
 * result, and what it started, removed at the end unless kept.
 */
class DemoRun {
  readonly emit: Emit;
  readonly phases: DemoPhase[] = [];
  readonly dir = mkdtempSync(join(tmpdir(), 'pgshift-demo-'));
  // A registered resource: cluster.ts's exit and signal handlers remove it
  // when the process ends before runDemo's finally runs (Ctrl-C exits there).
  readonly workDir = { killSync: (): void => rmSync(this.dir, { recursive: true, force: true }) };
  private clusters: EmbeddedCluster[] = [];
  private bouncer?: EmbeddedPgBouncer;
  private kept = false;

  constructor(readonly opts: DemoOptions, readonly from: number, readonly to: number) {
    this.emit = opts.emit ?? silent;
    registerResource(this.workDir);
  }

  phase<T>(name: string, fn: () => Promise<T>, detail?: (r: T) => string): Promise<T> {
    return timedPhase(name, fn, {
      emit: this.emit,
      describe: detail,
      onEnd: ({ ms, message, error }) => {
        if (!error) this.phases.push({ phase: name, ms, ...(message ? { detail: message } : {}) });
      },
    });
  }

  async startServers(): Promise<DemoServers> {
    const { from, to, opts, emit } = this;
    this.clusters = await this.phase(`start PostgreSQL ${from} and ${to}`, () => startClusters([from, to], { name: 'demo' }),
      (cs) => `ports ${cs.map((c) => c.port).join(', ')}`);
    const [source, target] = this.clusters as [EmbeddedCluster, EmbeddedCluster];
    const rows = await this.phase('create sample database', async () => {
      await source.createDatabase(DATABASE);
      return (await createSampleApp(source, DATABASE, opts.scale ?? 1, { emit, signal: opts.signal })).rows;
    }, (n) => `${n.toLocaleString('en-US')} rows in "${DATABASE}"`);

    if (existsSync(PGBOUNCER_BIN)) {
      this.bouncer = await this.phase('start PgBouncer', () => EmbeddedPgBouncer.start({
        databases: { [DATABASE]: { host: source.host, port: source.port, dbname: DATABASE } },
        users: { [source.superuser]: source.password },
      }), (b) => `port ${b.port}, transaction pooling`);
    } else {
      emit(warning('pgbouncer_missing', 'PgBouncer is not installed: the demo uses the "revoke" pause, which disconnects clients', 'apt-get install -y pgbouncer'));
    }
    const { config, configFile } = await writeDemoConfig(this.dir, source, target, this.bouncer);
    return { source, target, bouncer: this.bouncer, rows, config, configFile };
  }

  /** Under a ledgered write load: run, verify, switchover; then the load stopped and its ledger checked on the target. */
  async migrateUnderLoad(s: DemoServers): Promise<DemoFlow> {
    const { opts, emit } = this;
    const { config, source, bouncer } = s;
    const ledgerFile = join(this.dir, 'ledger.txt');
    const load = await this.phase(`start write load (${opts.clients ?? 4} clients${bouncer ? ', through PgBouncer' : ''})`, () => startLoad({
      source: config.source,
      database: DATABASE,
      clients: opts.clients ?? 4,
      ledgerFile,
      ...(bouncer ? { via: { conn: bouncer.params(DATABASE, source.superuser), password: source.password } } : {}),
      // Only its result: its progress would interleave with the flow's.
      emit: (e) => (e.type === 'result' ? emit(e) : undefined),
      signal: opts.signal,
    }));
    // The load must be writing before replication starts, so the demo migrates a live database.
    await waitFor(async () => load.acknowledged() > 20, { timeoutMs: 30_000, what: 'the write load to start committing' });

    await this.phase('check, roles, schema, start, wait, analyze', () => runPipeline(config, DATABASE, { emit, signal: opts.signal }),
      (r) => r.steps.map((x) => `${x.step} ${x.state === 'skip' ? 'skipped' : `${Math.round(x.ms)}ms`}`).join(', '));

    const verify: VerifyReport = await this.phase('verify (full, live source)', () => verifyDatabase({
      source: config.source, target: config.target, database: DATABASE, mode: 'full', emit, signal: opts.signal,
    }), (v) => `${v.identical ? 'identical' : 'DIFFERENT'}: ${v.tables.length} tables, ${v.rows.toLocaleString('en-US')} rows`);

    const moved = await this.phase(`switchover (${config.switchover.pause})`, () => switchover(config, DATABASE, { emit, signal: opts.signal }),
      (m) => `write pause ${Math.round(m.pauseMs ?? 0)} ms`);

    // Let the clients write to the new primary for a moment, then stop them.
    const before = load.acknowledged();
    await waitFor(async () => load.acknowledged() > before + 20, { timeoutMs: 30_000, what: 'writes to resume after the switchover' });
    const loadReport = await this.phase('stop write load', () => load.stop(),
      (r) => `${r.transactions} acknowledged, ${r.errors} failed, longest stall ${Math.round(r.longestStallMs)} ms`);

    const loadCheck = await this.phase('load-check on the target', async () => {
      const r = await checkLedger({ target: config.target, database: DATABASE, ledgerFile });
      emit({ type: 'result', data: { kind: 'load-check', database: DATABASE, acknowledged: r.acknowledged, missing: r.missing, duplicated: r.duplicated, ok: r.ok } });
      return r;
    },
      (r) => r.ok ? `all ${r.acknowledged} acknowledged writes on ${this.to}, exactly once` : `${r.missing} missing, ${r.duplicated} duplicated`);
    return { verify, moved, loadReport, loadCheck };
  }

  /** --keep: nothing is removed at the end; the result says how to reach what stays. */
  keep(result: DemoResult, s: DemoServers): void {
    this.kept = true;
    for (const r of [...this.clusters, ...(this.bouncer ? [this.bouncer] : []), this.workDir]) unregisterResource(r);
    result.kept = { ...keptAccess(this.dir, s.source, s.target, s.bouncer), config: s.configFile, dir: this.dir };
  }

  /** Everything the demo started and wrote goes, also after a failure or an interrupt, unless kept. */
  async removeUnlessKept(): Promise<void> {
    if (this.kept) return;
    await this.bouncer?.stop().catch(() => undefined);
    await Promise.all(this.clusters.map((c) => c.destroy().catch(() => undefined)));
    unregisterResource(this.workDir);
    this.workDir.killSync();
  }
}

/** The demo's result: ok when verify found the sides identical, every acknowledged write arrived once, and (through PgBouncer) no client transaction failed. */
function demoResult(demo: DemoRun, s: DemoServers, flow: DemoFlow, totalMs: number): DemoResult {
  const { verify, moved, loadReport, loadCheck } = flow;
  const usePgBouncer = s.bouncer !== undefined;
  return {
    ok: verify.identical && loadCheck.ok && (usePgBouncer ? loadReport.errors === 0 : true),
    from: demo.from, to: demo.to, database: DATABASE,
    pauseMethod: usePgBouncer ? 'pgbouncer' : 'revoke',
    rows: s.rows,
    timeline: demo.phases,
    totalMs,
    writePauseMs: moved.pauseMs,
    load: loadReport,
    verify: { identical: verify.identical, tables: verify.tables.length, differences: verify.tables.reduce((n, t) => n + t.differenceCount, 0) },
    loadCheck,
    switchover: moved,
  };
}

function demoFailed(result: DemoResult, { verify, loadCheck, loadReport }: DemoFlow): ProblemError {
  return new ProblemError('demo_failed', `the demo found a problem: verify ${verify.identical ? 'ok' : 'found differences'}, load-check ${loadCheck.ok ? 'ok' : 'found missing writes'}, ${loadReport.errors} failed transactions`, {
    details: { result },
  });
}

/** The demo's pgshift.yml in its work directory (passwords as ${VAR}, given in the environment), and the config read from it. */
async function writeDemoConfig(dir: string, source: EmbeddedCluster, target: EmbeddedCluster, bouncer: EmbeddedPgBouncer | undefined): Promise<{ config: Config; configFile: string }> {
  const [ss, ts] = await Promise.all([source.systemIdentifier(), target.systemIdentifier()]);
  const configText = `source:
  conn: ${JSON.stringify(formatConninfo(source.params()))}
  password: \${PGSHIFT_SOURCE_PASSWORD}
  system_identifier: "${ss}"
target:
  conn: ${JSON.stringify(formatConninfo(target.params()))}
  password: \${PGSHIFT_TARGET_PASSWORD}
  system_identifier: "${ts}"
databases:
  ${DATABASE}: {}
switchover:
  pause: ${bouncer ? 'pgbouncer' : 'revoke'}
  max_pause: 5s
  reverse: true
${bouncer ? `  pgbouncer:
    admin: ${JSON.stringify(formatConninfo(bouncer.adminParams()))}
    password: \${PGSHIFT_PGBOUNCER_PASSWORD}
    config: ${JSON.stringify(bouncer.configFile)}
` : ''}`;
  const configFile = join(dir, 'pgshift.yml');
  writeFileSync(configFile, configText, { mode: 0o600 });
  const env = {
    PGSHIFT_SOURCE_PASSWORD: source.password,
    PGSHIFT_TARGET_PASSWORD: target.password,
    ...(bouncer ? { PGSHIFT_PGBOUNCER_PASSWORD: bouncer.adminPassword } : {}),
  };
  return { config: parseConfig(configText, configFile, env), configFile };
}

/** --keep: how to reach the kept clusters; the passwords go into a password file, so nothing printed contains one. */
function keptAccess(dir: string, source: EmbeddedCluster, target: EmbeddedCluster, bouncer: EmbeddedPgBouncer | undefined): { source: string; target: string; pgbouncer?: string } {
  const passfile = join(dir, 'pgpass');
  const pgpassLine = (host: string, port: number, password: string): string =>
    `${host}:${port}:*:${source.superuser}:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}`;
  writeFileSync(passfile, [
    pgpassLine(source.host, source.port, source.password),
    pgpassLine(target.host, target.port, target.password),
    ...(bouncer ? [pgpassLine('127.0.0.1', bouncer.port, source.password)] : []),
  ].join('\n') + '\n', { mode: 0o600 });
  const psql = (params: Record<string, string>): string => `PGPASSFILE=${passfile} psql "${formatConninfo(params)}"`;
  return {
    source: psql(source.params(DATABASE)),
    target: psql(target.params(DATABASE)),
    ...(bouncer ? { pgbouncer: psql(bouncer.params(DATABASE)) } : {}),
  };
}
