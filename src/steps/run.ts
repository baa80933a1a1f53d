// Step "run": the pipeline check -> roles -> schema -> start -> wait -> analyze for one
// database, resumable. Each step decides from the clusters whether it is
// already done, so a run killed at any point (Ctrl-C, kill -9, a reboot) and
// started again continues where the clusters are:
//   - once pgshift's publication or subscription for the database exists,
//     check, roles and schema completed in an earlier run and are skipped
//     (check would rightly object to the objects the earlier run made);
//   - schema is skipped when the target already holds it;
//   - start finds its publication, subscription and slot by name and only
//     makes what is missing (see start.ts);
//   - wait is read-only (but for the deferred constraints it adds);
//   - analyze is skipped when every replicated table on the target already
//     has statistics.
// Rows are never copied twice: the initial copy is PostgreSQL's, tracked per
// table in pg_subscription_rel on the target, and survives pgshift dying.
//
// With copy 'fast' the same steps run, but schema is left to start, which is
// the fast copy (fast-copy.ts): it restores the schema from the snapshot its
// rows come from, with the indexes built after the data. Its resumption is
// its own: a copy killed before its subscription exists leaves its slot, and
// the next start empties the tables it filled and copies again.

import type { Config } from '../config/config.js';
import { ProblemError } from '../errors.js';
import type { Emit } from '../events.js';
import { silent, warning } from '../events.js';
import { StepRunner, type Step, type StepRecord } from './step.js';
import { connect } from '../pg/connect.js';
import { runCheck } from './check.js';
import { namesFor } from '../replication/names.js';
import { copyRoles } from './roles.js';
import { applySchema, schemaIsApplied } from './schema.js';
import { replicationStarted, startReplication } from './start.js';
import { databaseConfig } from '../config/config.js';
import { findPublication } from '../replication/subscription.js';
import { waitForSync } from './wait.js';
import { formatBytes } from '../util/duration.js';
import { analyzeTarget, tablesNeverAnalyzed } from './analyze.js';
import { type DatabaseStatus } from '../status/model.js';
import { startFastCopy } from './fast-copy.js';

export type RunStepId = 'check' | 'roles' | 'schema' | 'start' | 'wait' | 'analyze';

export interface RunOptions {
  /** The initial copy: PostgreSQL's copy_data ('native', the default) or pgshift's parallel copy from a snapshot ('fast'). */
  copy?: 'native' | 'fast';
  /** Parallel copy workers of the fast copy (default: fast-copy.ts). */
  jobs?: number;
  emit?: Emit;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxLagBytes?: number;
  noPasswords?: boolean;
  managed?: boolean;
  /** Parallel sessions of the analyze step (default: analyze.ts). */
  analyzeJobs?: number;
}

export interface RunResult {
  database: string;
  steps: StepRecord<RunStepId>[];
  status: DatabaseStatus;
}

/** Has an earlier run got as far as start? (publication on the source or subscription on the target) */
async function replicationBegun(config: Config, database: string): Promise<boolean> {
  const source = await connect('source', config.source, { database });
  try {
    if (await findPublication(source, namesFor(database).publication)) return true;
  } finally {
    await source.close();
  }
  return replicationStarted(config, database);
}

export async function runPipeline(config: Config, database: string, opts: RunOptions = {}): Promise<RunResult> {
  const emit = opts.emit ?? silent;
  databaseConfig(config, database);
  const runner = new StepRunner<RunStepId, PipelineContext>(emit, opts.signal);
  const ctx: PipelineContext = { config, database, opts, emit: runner.inner, report: emit, begun: await replicationBegun(config, database) };
  const steps = await runner.runAll(PIPELINE, ctx);
  return { database, steps, status: ctx.status! };
}

interface PipelineContext {
  config: Config;
  database: string;
  opts: RunOptions;
  /** For the steps' own progress (the runner reports their start and end). */
  emit: Emit;
  /** The run's own emitter, for what the run itself says (check's FAIL findings). */
  report: Emit;
  /** pgshift's publication or subscription exists: check, roles and schema ran in an earlier run. */
  begun: boolean;
  /** What wait saw last: the run's result. */
  status?: DatabaseStatus;
}

const ALREADY = 'replication already started by an earlier run';

/** check -> roles -> schema -> start -> wait -> analyze (see the top of this file). */
const PIPELINE: Step<RunStepId, PipelineContext>[] = [
  {
    id: 'check',
    title: 'readiness of both clusters',
    probe: async (c) => (c.begun ? ALREADY : undefined),
    async run({ config, database, emit, report }) {
      const r = await runCheck(config, [database], { emit });
      for (const f of r.findings) {
        if (f.severity === 'fail') report(warning('check_fail', `FAIL ${f.title}${f.objects.length ? `: ${f.objects.slice(0, 10).join(', ')}` : ''}`, f.fix, { finding: f.id }));
      }
      if (!r.ok) {
        const fails = r.findings.filter((f) => f.severity === 'fail');
        throw new ProblemError('check_failed', `check found ${fails.length} blocking problem(s) for "${database}": ${fails.map((f) => f.title).join('; ')}`, {
          hint: `Fix what "pgshift check ${database}" reports as FAIL, then run again.`,
        });
      }
      return {};
    },
  },
  {
    id: 'roles',
    title: 'roles onto the target',
    probe: async (c) => (c.begun ? ALREADY : undefined),
    async run({ config, opts, emit }) {
      const r = await copyRoles(config, { noPasswords: opts.noPasswords, managed: opts.managed, emit });
      return { message: `${r.created.length} created, ${r.skippedExisting.length} already on the target` };
    },
  },
  {
    id: 'schema',
    title: 'the schema onto the target',
    async probe({ config, database, opts, begun }) {
      if (begun) return ALREADY;
      if (opts.copy === 'fast') return 'the fast copy (start) restores the schema from its snapshot';
      if (await schemaIsApplied(config, database)) return 'the target already has the schema';
      return undefined;
    },
    async run({ config, database, opts, emit }) {
      await applySchema(config, database, { emit, signal: opts.signal });
      return {};
    },
  },
  {
    // Idempotent by itself (it finds what exists by name): no probe.
    id: 'start',
    title: 'publication, subscription and the initial copy',
    async run({ config, database, opts, emit }) {
      if (opts.copy === 'fast') {
        const r = await startFastCopy(config, database, { emit, signal: opts.signal, jobs: opts.jobs });
        if (r.alreadyDone) return { skip: true, message: `subscription ${r.subscription.name} exists` };
        return { message: `${r.restarted ? 'restarted after an interrupted copy: ' : ''}${r.tables.length} tables, ${r.totals.rows} rows, ${formatBytes(r.totals.bytes)} copied; subscription ${r.subscription.name} created` };
      }
      const r = await startReplication(config, database, { emit, signal: opts.signal });
      const unchanged = r.publication.action === 'unchanged' && r.subscription.action === 'unchanged' && !r.slot.droppedOrphan;
      return unchanged
        ? { skip: true, message: `publication and subscription ${r.subscription.name} exist` }
        : { message: `publication ${r.publication.action}, subscription ${r.subscription.action}` };
    },
  },
  {
    id: 'wait',
    title: 'every table copied, lag small',
    async run(c) {
      const r = await waitForSync(c.config, c.database, { emit: c.emit, signal: c.opts.signal, timeoutMs: c.opts.timeoutMs, maxLagBytes: c.opts.maxLagBytes });
      c.status = r.status;
      return { message: `${r.status.tablesReady} tables ready, lag ${formatBytes(r.status.lagBytes ?? 0)}` };
    },
  },
  {
    // Every table is ready: the copy is done, so the statistics are worth gathering
    // before the target serves (the switchover preflight warns otherwise).
    id: 'analyze',
    title: 'planner statistics on the target',
    async probe({ config, database }) {
      const target = await connect('target', config.target, { database, applicationName: 'pgshift analyze' });
      try {
        return (await tablesNeverAnalyzed(config, database, target)).length === 0 ? 'every replicated table on the target has statistics' : undefined;
      } finally {
        await target.close();
      }
    },
    async run({ config, database, opts, emit }) {
      const r = await analyzeTarget(config, database, { emit, signal: opts.signal, jobs: opts.analyzeJobs });
      return { message: `${r.tables} table(s) analyzed on the target (${r.jobs} job(s))` };
    },
  },
];
