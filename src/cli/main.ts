// The entry point: global flags (anywhere on the line), dispatch to a
// command, help and version on stdout, errors rendered on stderr, and the
// only place that sets the process's exit code.

import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { Output, type Verbosity } from './output.js';
import { configLoader, flagLines, parseOptions, type Command, type CommandContext, type Flags } from './command.js';
import { COMMANDS } from './commands/index.js';
import { observed } from './observe.js';
import { withDatabaseLock } from '../steps/lock.js';
import { EXIT, InternalError, UsageError, type ExitCode } from '../errors.js';
import { version } from './version.js';
import { errorFor, printError } from './failure.js';

/** Flags every command takes, before or after the command name. */
export const GLOBAL_FLAGS: Flags = {
  config: { type: 'string', short: 'c', value: 'FILE', description: 'the config file', default: '$PGSHIFT_CONFIG, else pgshift.yml' },
  json: { type: 'boolean', description: 'one JSON document on stdout (progress events as NDJSON on stderr)' },
  yes: { type: 'boolean', short: 'y', description: 'answer yes to confirmations (needed without a terminal)' },
  quiet: { type: 'boolean', short: 'q', description: 'only warnings, errors and results' },
  verbose: { type: 'boolean', short: 'v', description: 'more detail: error causes and stack traces' },
  help: { type: 'boolean', short: 'h', description: 'help (pgshift help COMMAND for one command)' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
};

export const EXIT_CODES: [number, string][] = [
  [EXIT.ok, 'success'],
  [EXIT.problem, 'a check, verify or operation found a problem (the message says which)'],
  [EXIT.usage, 'bad usage or bad config'],
  [EXIT.safety, 'a safety refusal: wrong cluster, target not empty, unsupported direction, budget exceeded and undone, a transaction older than max_pause, another pgshift changing the database'],
  [EXIT.connect, 'cannot connect: a server unreachable, a login refused, TLS not accepted'],
  [EXIT.internal, 'internal error: a bug in pgshift (please report it with the version)'],
];

function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `pgshift ${version()} - near-zero-downtime PostgreSQL upgrades and moves with logical replication`,
    '',
    'usage: pgshift [global options] <command> [arguments] [options]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'global options (anywhere on the line):',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'exit codes:',
    ...EXIT_CODES.map(([code, what]) => `  ${code}  ${what}`),
    '',
    'pgshift help COMMAND (or pgshift COMMAND --help) shows every option of a command.',
  ].join('\n');
}

function commandHelp(c: Command): string {
  const lines = [`usage: pgshift ${c.usage}`, '', `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`];
  if (c.args?.length) {
    const w = Math.max(...c.args.map(([a]) => a.length));
    lines.push('', 'arguments:', ...c.args.map(([a, d]) => `  ${a.padEnd(w)}  ${d}`));
  }
  if (c.flags && Object.keys(c.flags).length) lines.push('', 'options:', ...flagLines(c.flags));
  lines.push('', 'global options:', ...flagLines(GLOBAL_FLAGS));
  return lines.join('\n');
}

interface Global {
  config?: string;
  json: boolean;
  yes: boolean;
  quiet: boolean;
  verbose: boolean;
  help: boolean;
  version: boolean;
}

/**
 * Take the global flags out of argv wherever they are (up to a "--", after
 * which everything belongs to the command: exec's CMD and its arguments).
 * What remains is the command name and the command's own argv.
 */
export function splitGlobal(argv: string[]): { global: Global; command?: string; rest: string[] } {
  const global: Global = { json: false, yes: false, quiet: false, verbose: false, help: false, version: false };
  const rest: string[] = [];
  const byName = new Map<string, string>();
  for (const [name, f] of Object.entries(GLOBAL_FLAGS)) {
    byName.set(`--${name}`, name);
    if (f.short) byName.set(`-${f.short}`, name);
  }
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = byName.get(eq > 0 ? a.slice(0, eq) : a);
    if (name === undefined) {
      rest.push(a);
      continue;
    }
    if (name === 'config') {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a file name`);
      global.config = v;
    } else {
      if (eq > 0) throw new UsageError(`${a.slice(0, eq)} takes no value`);
      (global as unknown as Record<string, boolean>)[name] = true;
    }
  }
  rest.push(...argv.slice(i));
  // The command is the first argument; anything before it must have been a global flag.
  const first = rest[0];
  if (first !== undefined && first.startsWith('-') && first !== '--') {
    throw new UsageError(`unknown option "${first}" before the command (options of a command go after its name)`);
  }
  return { global, command: first, rest: rest.slice(1) };
}

export async function run(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<ExitCode> {
  let out = new Output({ json: argv.includes('--json'), ...io });
  let verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    const { global, command: name, rest } = splitGlobal(argv);
    verbose = global.verbose;
    if (global.quiet && global.verbose) throw new UsageError('--quiet and --verbose exclude each other');
    const verbosity: Verbosity = global.quiet ? 'quiet' : global.verbose ? 'verbose' : 'normal';
    out = new Output({ json: global.json, verbosity, ...io });
    const info = helpOrVersion(global, name, rest);
    if (info) {
      if (info.stdout) out.print(info.text);
      else out.line(info.text);
      return info.code;
    }
    const command = commandNamed(name!);
    const parsed = commandArgs(command, rest);
    return await untilInterrupted(async (signal) => {
      try {
        return await runCommand(command, commandContext(global, parsed, out, signal));
      } finally {
        out.endLive();
      }
    });
  } catch (e) {
    out.endLive();
    const err = errorFor(e);
    printError(out, err, verbose);
    if (err instanceof InternalError && (verbose || process.env.PGSHIFT_DEBUG) && e instanceof Error && e.stack && out.json) out.line(e.stack);
    return err.exitCode;
  }
}

/** What to print instead of running a command (the version, help), or undefined when a command runs: help and version on stdout, a bare "pgshift" gets the help on stderr and exit 2. */
function helpOrVersion(global: Global, name: string | undefined, rest: string[]): { text: string; stdout: boolean; code: ExitCode } | undefined {
  if (global.version) return { text: `pgshift ${version()}`, stdout: true, code: EXIT.ok };
  if (name === 'help' && rest[0] !== undefined) return { text: commandHelp(commandNamed(rest[0])), stdout: true, code: EXIT.ok };
  if (name === 'help' || (name === undefined && global.help)) return { text: helpText(), stdout: true, code: EXIT.ok };
  if (name === undefined) return { text: helpText(), stdout: false, code: EXIT.usage };
  if (global.help) return { text: commandHelp(commandNamed(name)), stdout: true, code: EXIT.ok };
  return undefined;
}

function commandNamed(name: string): Command {
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`);
  return command;
}

function commandArgs(command: Command, rest: string[]): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args: rest, options: parseOptions(command.flags), allowPositionals: command.positionals !== false, strict: true });
  } catch (e) {
    throw new UsageError(`${command.name}: ${(e as Error).message}`, { hint: `Run "pgshift help ${command.name}" for its options.` });
  }
}

/** Ctrl-C and SIGTERM abort the command's signal, so it stops at its next safe point (AbortedError, exit 1) instead of dying mid-statement. */
async function untilInterrupted<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

function commandContext(global: Global, parsed: ReturnType<typeof parseArgs>, out: Output, signal: AbortSignal): CommandContext {
  const configPath = global.config ?? process.env.PGSHIFT_CONFIG ?? 'pgshift.yml';
  return {
    out,
    args: parsed.positionals,
    flags: parsed.values as CommandContext['flags'],
    json: global.json,
    yes: global.yes,
    configPath,
    config: configLoader(configPath, out),
    signal,
    confirm: (question) => confirm(question, global.yes),
  };
}

/** A destructive step's question: yes with --yes, asked on a terminal, refused without one. */
async function confirm(question: string, yes: boolean): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY || !(process.stderr as NodeJS.WriteStream).isTTY) {
    throw new UsageError(`${question} Refusing without a terminal; pass --yes to confirm.`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** The command, inside the per-database lock when it changes databases (command.locks), observed (journal, metrics). */
function runCommand(command: Command, ctx: CommandContext): Promise<ExitCode> {
  const locked = command.locks?.(ctx) ?? [];
  const body = locked.length === 0 ? () => command.run(ctx) : () => withDatabaseLock(ctx.config(), locked, command.name, () => command.run(ctx));
  return observed(command, ctx, body, { version: version(), errorFor });
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  process.exitCode = code;
  // Connections and timers are closed by the commands; exit promptly anyway so a
  // stray socket cannot keep a finished command alive.
  setTimeout(() => process.exit(code), 200).unref();
}
