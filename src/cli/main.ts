// The entry point: global flags, dispatch to a command, render errors, and
// the only place that sets the process's exit code.

import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline/promises';
import { readFileSync } from 'node:fs';
import { Output } from './output.js';
import { configLoader, type Command, type CommandContext } from './command.js';
import { COMMANDS } from './commands/index.js';
import { EXIT, InternalError, PgshiftError, SqlError, UsageError, type ExitCode } from '../errors.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function helpText(): string {
  const lines = [
    'pgshift - near-zero-downtime PostgreSQL upgrades and moves with logical replication',
    '',
    'usage: pgshift [-c pgshift.yml] [--json] [--yes] <command> [args]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(58)} ${c.summary}`),
    '',
    'global options:',
    '  -c, --config FILE   config file (default: pgshift.yml, or $PGSHIFT_CONFIG)',
    '  --json              machine-readable output on stdout',
    '  --yes               answer yes to confirmations',
    '  -h, --help          this help; pgshift <command> --help for one command',
    '',
    'exit codes: 0 ok; 1 a problem was found; 2 bad usage or config; 3 safety refusal',
  ];
  return lines.join('\n');
}

/** Split argv into global flags, the command name and the command's own argv. */
function splitGlobal(argv: string[]): { global: { config?: string; json: boolean; yes: boolean; help: boolean; version: boolean }; command?: string; rest: string[] } {
  const global = { config: undefined as string | undefined, json: false, yes: false, help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-c' || a === '--config') {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a file name`);
      global.config = v;
    } else if (a.startsWith('--config=')) global.config = a.slice('--config='.length);
    else if (a === '--json') global.json = true;
    else if (a === '--yes' || a === '-y') global.yes = true;
    else if (a === '--help' || a === '-h') global.help = true;
    else if (a === '--version') global.version = true;
    else break;
  }
  return { global, command: argv[i], rest: argv.slice(i + 1) };
}

function printError(out: Output, e: PgshiftError): void {
  if (out.json) {
    out.writeJson({ ok: false, ...e.toJSON() });
    return;
  }
  out.line(out.paint('error: ', 'red') + e.message);
  if (e instanceof SqlError) {
    if (e.statement && e.position && e.position > 0) {
      // Show the failing line of the statement with a caret under the position.
      const upTo = e.statement.slice(0, e.position - 1);
      const lineStart = upTo.lastIndexOf('\n') + 1;
      const lineEnd = e.statement.indexOf('\n', e.position - 1);
      const text = e.statement.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
      out.line('  ' + text);
      out.line('  ' + ' '.repeat(e.position - 1 - lineStart) + '^');
    }
    if (e.sqlstate) out.line(`  SQLSTATE ${e.sqlstate}`);
    if (e.serverDetail) out.line(`  detail: ${e.serverDetail}`);
    if (e.serverHint) out.line(`  server hint: ${e.serverHint}`);
  }
  if (e.hint) out.line(out.paint('hint: ', 'cyan') + e.hint);
}

export async function run(argv: string[], io: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream } = {}): Promise<ExitCode> {
  let out = new Output({ json: argv.includes('--json'), ...io });
  try {
    const { global, command: name, rest } = splitGlobal(argv);
    out = new Output({ json: global.json, ...io });
    if (global.version) {
      out.line(`pgshift ${version()}`);
      return EXIT.ok;
    }
    if (!name || name === 'help') {
      out.line(helpText());
      return name || global.help ? EXIT.ok : EXIT.usage;
    }
    const command: Command | undefined = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command "${name}"`);
    if (global.help || rest.includes('--help') || rest.includes('-h')) {
      out.line(`usage: pgshift ${command.usage}\n\n${command.summary}`);
      return EXIT.ok;
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({ args: rest, options: { ...(command.options ?? {}), json: { type: 'boolean' }, yes: { type: 'boolean' } }, allowPositionals: command.positionals !== false, strict: true });
    } catch (e) {
      throw new UsageError(`${name}: ${(e as Error).message}`);
    }
    const json = global.json || parsed.values.json === true;
    const yes = global.yes || parsed.values.yes === true;
    if (json !== global.json) out = new Output({ json, ...io });
    const controller = new AbortController();
    const onSignal = (): void => controller.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const configPath = global.config ?? process.env.PGSHIFT_CONFIG ?? 'pgshift.yml';
    const ctx: CommandContext = {
      out,
      args: parsed.positionals,
      flags: parsed.values as CommandContext['flags'],
      json,
      yes,
      configPath,
      config: configLoader(configPath, out),
      signal: controller.signal,
      confirm: async (question) => {
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
      },
    };
    try {
      return await command.run(ctx);
    } finally {
      out.endLive();
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  } catch (e) {
    out.endLive();
    if (e instanceof PgshiftError) {
      printError(out, e);
      return e.exitCode;
    }
    const internal = new InternalError(e instanceof Error ? e.message : String(e), { cause: e });
    printError(out, internal);
    if (process.env.PGSHIFT_DEBUG && e instanceof Error && e.stack) out.line(e.stack);
    return internal.exitCode;
  }
}

export async function main(argv: string[]): Promise<void> {
  const code = await run(argv);
  process.exitCode = code;
  // Connections and timers are closed by the commands; exit promptly anyway so a
  // stray socket cannot keep a finished command alive.
  setTimeout(() => process.exit(code), 200).unref();
}
