// Around every command: its journal (src/journal) and, with --metrics, its
// Prometheus endpoint (src/metrics). Both are fed from the events the
// command's library calls emit (the Output hears each one) and, for
// metrics, from the results other commands left in the journal. Commands
// themselves only declare the --metrics flag.

import { UsageError, type ExitCode, type PgshiftError } from '../errors.js';
import { warning } from '../events.js';
import { CommandJournal, FileSink, journalFile } from '../journal/journal.js';
import { JournalTail } from '../journal/read.js';
import { PgshiftMetrics } from '../metrics/pgshift.js';
import { isLoopback, MetricsServer, parseMetricsAddress } from '../metrics/server.js';
import type { Command, CommandContext, FlagSpec } from './command.js';

export const METRICS_FLAG: FlagSpec = {
  type: 'string',
  value: 'HOST:PORT',
  description: 'serve Prometheus metrics at http://HOST:PORT/metrics while the command runs (PORT alone: 127.0.0.1; 0: a free port)',
};

/** Commands that write no journal: no database yet (init), not a migration step (exec), reading it (report), their own (demo). */
const UNJOURNALED = new Set(['init', 'exec', 'report', 'demo']);
/** Commands about every database of the config. */
const EVERY_DATABASE = new Set(['roles']);
/** Commands about the databases named, or every one when none is. */
const LISTED_DATABASES = new Set(['check', 'status']);
/** Commands about the databases named, or every one with --all (several move in one pause). */
const MOVED_DATABASES = new Set(['switchover', 'rollback']);
/** Flags whose values are connection strings: never recorded. */
const CONNECTION_FLAGS = new Set(['via', 'source', 'target']);

/** The databases a command is about, by the config (names not in it get no journal). */
function databasesOf(name: string, ctx: CommandContext): string[] {
  const known = [...ctx.config().databases.keys()];
  if (EVERY_DATABASE.has(name)) return known;
  if (LISTED_DATABASES.has(name)) return ctx.args.length ? [...new Set(ctx.args)].filter((a) => known.includes(a)) : known;
  if (MOVED_DATABASES.has(name)) return ctx.flags.all === true ? known : [...new Set(ctx.args)].filter((a) => known.includes(a));
  return ctx.args.length === 1 && known.includes(ctx.args[0]!) ? [ctx.args[0]!] : [];
}

export interface ObserveOptions {
  version: string;
  errorFor: (e: unknown) => PgshiftError;
}

export async function observed(command: Command, ctx: CommandContext, run: () => Promise<ExitCode>, opts: ObserveOptions): Promise<ExitCode> {
  const name = command.name;
  const single = !EVERY_DATABASE.has(name) && !LISTED_DATABASES.has(name) && ctx.args.length === 1 && ctx.flags.all !== true ? ctx.args[0] : undefined;
  let databases: string[] | undefined;
  const dbs = (): string[] => (databases ??= databasesOf(name, ctx));

  const flags: Record<string, string | boolean> = {};
  for (const [k, v] of Object.entries(ctx.flags)) {
    if (v === undefined || CONNECTION_FLAGS.has(k)) continue;
    flags[k] = Array.isArray(v) ? v.join(',') : v;
  }
  let warned = false;
  // A dry run is no step of the migration: the report must not show it as one.
  const journal = UNJOURNALED.has(name) || ctx.flags['dry-run'] === true ? undefined : new CommandJournal({
    command: name,
    version: opts.version,
    args: ctx.args,
    flags,
    databases: dbs,
    sinkFor: (database) => new FileSink(journalFile(ctx.configPath, database), (e) => {
      if (warned) return;
      warned = true;
      // Not from inside the write: the warning is an event, and events are journaled.
      queueMicrotask(() => ctx.out.event(warning('journal_unwritable',
        `cannot write the journal ${journalFile(ctx.configPath, database)} (${e.message}); the command goes on without it, and "pgshift report" will not show this run`)));
    }),
    redact: (s) => ctx.out.redact(s),
  });

  let metrics: PgshiftMetrics | undefined;
  let server: MetricsServer | undefined;
  const address = ctx.flags.metrics;
  if (typeof address === 'string') {
    const addr = parseMetricsAddress(address);
    const m = new PgshiftMetrics(single);
    const tails = new Map<string, JournalTail>();
    server = await MetricsServer.start(addr, () => {
      // Results other commands appended since the last scrape (a switchover's pause seen by status --watch).
      let names: string[] = [];
      try {
        names = dbs();
      } catch {
        // The config is the command's to report.
      }
      for (const d of names) {
        if (!tails.has(d)) tails.set(d, new JournalTail(journalFile(ctx.configPath, d)));
        m.fromJournal(tails.get(d)!.read().records);
      }
      return m.render();
    });
    metrics = m;
  } else if (address !== undefined) {
    throw new UsageError('--metrics needs HOST:PORT');
  }

  const off = ctx.out.onEvent((e) => {
    journal?.event(e);
    metrics?.observe(e);
  });
  try {
    if (server) {
      const open = isLoopback(server.address.host) ? '' : ' (reachable from other hosts, without authentication)';
      ctx.out.event({ type: 'info', message: `Prometheus metrics at ${server.url}${open}`, data: { metrics: server.url } });
    }
    const code = await run();
    journal?.end(code);
    return code;
  } catch (e) {
    const err = opts.errorFor(e);
    journal?.end(err.exitCode, { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) });
    throw e;
  } finally {
    off();
    journal?.close();
    await server?.close();
  }
}
