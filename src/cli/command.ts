// What a CLI command is: a name, its flags, and a run function over a
// context. Commands are thin: parse flags, call the library, render.

import type { ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from '../config/config.js';
import type { Output } from './output.js';
import { UsageError, type ExitCode } from '../errors.js';
import { parseDuration } from '../util/duration.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

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
  /** Ask a yes/no question on a TTY; --yes or no TTY answers from the flag. */
  confirm(question: string): Promise<boolean>;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  options?: OptionSpec;
  /** Allow positional arguments (default: true). */
  positionals?: boolean;
  run(ctx: CommandContext): Promise<ExitCode>;
}

export function configLoader(path: string, out: Output): () => Config {
  let cached: Config | undefined;
  return () => {
    if (!cached) {
      cached = loadConfig(path);
      out.addSecret(cached.source.password);
      out.addSecret(cached.target.password);
      out.addSecret(cached.switchover.pgbouncer?.adminPassword);
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
  if (ms === undefined) throw new UsageError(`--${name}: expected a duration such as 500ms, 30s or 10m, found "${v}"`);
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
