// What a CLI command is: a name, its flags (each with a description and its
// default, which the help prints), and a run function over a context.
// Commands are thin: parse flags, call the library, render.

import type { ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/config.js';
import { pgpassSecrets } from '../config/conninfo.js';
import type { Output } from './output.js';
import { UsageError, type ExitCode } from '../errors.js';
import { DURATION_UNITS, parseDuration } from '../util/duration.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** One command-line flag: how it parses and what the help says about it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in the help: N, D, FILE, CONN ... */
  value?: string;
  description: string;
  /** The default as the help shows it; omitted for flags that are off unless given. */
  default?: string;
}

export type Flags = Record<string, FlagSpec>;

export interface CommandContext {
  out: Output;
  /** Positional arguments after the command name. */
  args: string[];
  /** Parsed command flags. */
  flags: Record<string, string | boolean | string[] | undefined>;
  json: boolean;
  yes: boolean;
  configPath: string;
  /** Loads (once) and validates the config; registers its secrets with the output. */
  config(): Config;
  /** Aborted on SIGINT/SIGTERM so long operations stop at a safe point. */
  signal: AbortSignal;
  /** Ask a yes/no question on a TTY; --yes answers yes; without a TTY and --yes, refuses. */
  confirm(question: string): Promise<boolean>;
}

export interface Command {
  name: string;
  summary: string;
  /** The synopsis after "pgshift": the command, its arguments and flags. */
  usage: string;
  /** What each positional argument is, for the help. */
  args?: [string, string][];
  flags?: Flags;
  /** Allow positional arguments (default: true). */
  positionals?: boolean;
  /**
   * A command that changes databases holds pgshift's per-database lock
   * (src/steps/lock.ts) while it runs: these are the databases it locks.
   * Read-only commands leave it out.
   */
  locks?: (ctx: CommandContext) => string[];
  run(ctx: CommandContext): Promise<ExitCode>;
}

/** The flags as node's parseArgs wants them. */
export function parseOptions(flags: Flags = {}): OptionSpec {
  const out: OptionSpec = {};
  for (const [name, f] of Object.entries(flags)) out[name] = { type: f.type, ...(f.short ? { short: f.short } : {}) };
  return out;
}

/** "  --name VALUE, -s   description (default: x)" lines for the help. */
export function flagLines(flags: Flags): string[] {
  const left = (name: string, f: FlagSpec): string =>
    `${f.short ? `-${f.short}, ` : '    '}--${name}${f.type === 'string' ? ` ${f.value ?? 'VALUE'}` : ''}`;
  const width = Math.max(0, ...Object.entries(flags).map(([n, f]) => left(n, f).length));
  return Object.entries(flags).map(([n, f]) =>
    `  ${left(n, f).padEnd(width)}  ${f.description}${f.default !== undefined ? ` (default: ${f.default})` : ''}`);
}

export function configLoader(path: string, out: Output): () => Config {
  let cached: Config | undefined;
  return () => {
    if (!cached) {
      cached = loadConfig(path);
      out.addSecret(cached.source.password);
      out.addSecret(cached.target.password);
      out.addSecret(cached.switchover.pgbouncer?.adminPassword);
      // Passwords pgshift may read from a password file are masked too.
      for (const conn of [cached.source.conn, cached.target.conn, cached.switchover.pgbouncer?.admin]) {
        if (conn) for (const s of pgpassSecrets(conn)) out.addSecret(s);
      }
    }
    return cached;
  };
}

export function flagString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagDuration(ctx: CommandContext, name: string): number | undefined {
  const v = flagString(ctx, name);
  if (v === undefined) return undefined;
  const ms = parseDuration(v);
  if (ms === undefined) throw new UsageError(`--${name}: expected a duration such as 500ms, 30s, 10min or 2h (units: ${DURATION_UNITS.join(', ')}), found "${v}"`);
  return ms;
}

export function flagInt(ctx: CommandContext, name: string, min = 1): number | undefined {
  const v = flagString(ctx, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name}: expected a whole number >= ${min}, found "${v}"`);
  return Number(v);
}

/** Exactly one database argument. */
export function oneDatabase(ctx: CommandContext, command: string): string {
  if (ctx.args.length !== 1) throw new UsageError(`${command} takes exactly one database name (pgshift ${command} DB)`);
  return ctx.args[0]!;
}

/** The databases a command named on its line (all configured ones with --all): what it locks. */
export function namedDatabases(ctx: CommandContext): string[] {
  return ctx.flags.all === true ? [...ctx.config().databases.keys()] : ctx.args;
}

/**
 * The databases of a command that moves several at once (switchover,
 * rollback): the ones named, or every one of the config with --all.
 */
export function movedDatabases(ctx: CommandContext, command: string): string[] {
  const all = ctx.flags.all === true;
  if (all && ctx.args.length) throw new UsageError(`${command}: name databases or pass --all, not both`);
  if (!all && ctx.args.length === 0) throw new UsageError(`${command} needs a database name (pgshift ${command} DB [DB...]), or --all for every database of the config`);
  const names = all ? [...ctx.config().databases.keys()] : [...new Set(ctx.args)];
  if (names.length === 0) throw new UsageError(`${command} --all: the config lists no databases`);
  return names;
}

/** The positional arguments of switchover and rollback. */
export const DBS_ARG: [string, string] = ['DB...', 'one or more databases listed under "databases:" in the config, moved in one pause (or --all: every one)'];

/** The positional argument every per-database command takes. */
export const DB_ARG: [string, string] = ['DB', 'a database listed under "databases:" in the config'];
