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

import type { Config } from '../config/config.js';
import { AbortedError, ProblemError } from '../errors.js';
import type { Emit } from '../events.js';
import { silent } from '../events.js';
import { faultPoint } from '../util/fault.js';
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

export type RunStepId = 'check' | 'roles' | 'schema' | 'start' | 'wait' | 'analyze';

export interface RunOptions {
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
  steps: { step: RunStepId; state: 'done' | 'skip'; ms: number; message?: string }[];
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
  const steps: RunResult['steps'] = [];
  let status: DatabaseStatus | undefined;

  // The steps report their own progress; their own start/done of the step itself would repeat ours.
  let current: RunStepId | undefined;
  const inner: Emit = (e) => {
    if (e.type === 'step' && e.step === current) return;
    emit(e);
  };

  const step = async (id: RunStepId, fn: () => Promise<{ skip?: boolean; message?: string }>): Promise<void> => {
    if (opts.signal?.aborted) throw new AbortedError();
    current = id;
    const t0 = Date.now();
    emit({ type: 'step', step: id, state: 'start' });
    try {
      const r = await fn();
      faultPoint(`after:${id}`);
      const ms = Date.now() - t0;
      steps.push({ step: id, state: r.skip ? 'skip' : 'done', ms, message: r.message });
      emit({ type: 'step', step: id, state: r.skip ? 'skip' : 'done', ms, message: r.message });
    } catch (e) {
      emit({ type: 'step', step: id, state: 'fail', ms: Date.now() - t0, message: (e as Error).message });
      throw e;
    }
  };

  const begun = await replicationBegun(config, database);
  const already = { skip: true, message: 'replication already started by an earlier run' };

  await step('check', async () => {
    if (begun) return already;
    const report = await runCheck(config, [database], { emit: inner });
    for (const f of report.findings) {
      if (f.severity === 'fail') emit({ type: 'warn', message: `FAIL ${f.title}${f.objects.length ? `: ${f.objects.slice(0, 10).join(', ')}` : ''}${f.fix ? ` (fix: ${f.fix})` : ''}` });
    }
    if (!report.ok) {
      const fails = report.findings.filter((f) => f.severity === 'fail');
      throw new ProblemError('check_failed', `check found ${fails.length} blocking problem(s) for "${database}": ${fails.map((f) => f.title).join('; ')}`, {
        hint: `Fix what "pgshift check ${database}" reports as FAIL, then run again.`,
      });
    }
    return {};
  });

  await step('roles', async () => {
    if (begun) return already;
    const r = await copyRoles(config, { noPasswords: opts.noPasswords, managed: opts.managed, emit: inner });
    return { message: `${r.created.length} created, ${r.skippedExisting.length} already on the target` };
  });

  await step('schema', async () => {
    if (begun) return already;
    if (await schemaIsApplied(config, database)) return { skip: true, message: 'the target already has the schema' };
    await applySchema(config, database, { emit: inner, signal: opts.signal });
    return {};
  });

  await step('start', async () => {
    const r = await startReplication(config, database, { emit: inner, signal: opts.signal });
    const unchanged = r.publication.action === 'unchanged' && r.subscription.action === 'unchanged' && !r.slot.droppedOrphan;
    return unchanged
      ? { skip: true, message: `publication and subscription ${r.subscription.name} exist` }
      : { message: `publication ${r.publication.action}, subscription ${r.subscription.action}` };
  });

  await step('wait', async () => {
    const r = await waitForSync(config, database, { emit: inner, signal: opts.signal, timeoutMs: opts.timeoutMs, maxLagBytes: opts.maxLagBytes });
    status = r.status;
    return { message: `${r.status.tablesReady} tables ready, lag ${formatBytes(r.status.lagBytes ?? 0)}` };
  });

  // Every table is ready: the copy is done, so the statistics are worth gathering
  // before the target serves (the switchover preflight warns otherwise).
  await step('analyze', async () => {
    const target = await connect('target', config.target, { database, applicationName: 'pgshift analyze' });
    let missing: string[];
    try {
      missing = await tablesNeverAnalyzed(config, database, target);
    } finally {
      await target.close();
    }
    if (missing.length === 0) return { skip: true, message: 'every replicated table on the target has statistics' };
    const r = await analyzeTarget(config, database, { emit: inner, signal: opts.signal, jobs: opts.analyzeJobs });
    return { message: `${r.tables} table(s) analyzed on the target (${r.jobs} job(s))` };
  });

  return { database, steps, status: status! };
}
