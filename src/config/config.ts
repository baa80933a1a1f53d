// The pgshift.yml format (see DESIGN.md, "Config"): loaded, ${VAR}-expanded
// and validated into a typed Config before any connection is made. Every
// error names the file, the key path, and what was expected.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDocument, isMap, isScalar, LineCounter, type Node as YamlNode, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { parseLibpqConninfo, resolveConninfo, unsupportedForPgshift, ConninfoSyntaxError, type ConnParams } from './conninfo.js';
import { parseDuration } from '../util/duration.js';

export type PauseMethod = 'pgbouncer' | 'revoke' | 'readonly' | 'command';
export const PAUSE_METHODS: readonly PauseMethod[] = ['pgbouncer', 'revoke', 'readonly', 'command'];

export interface EndpointConfig {
  /** libpq parameters from `conn`, password removed (it lives in `password`). */
  conn: ConnParams;
  password?: string;
  systemIdentifier: string;
  /** How the other server reaches this one (for a subscription's CONNECTION). */
  connFromPeer?: ConnParams;
}

export interface DatabaseConfig {
  name: string;
  /** schema.table names to leave out of replication. */
  exclude: string[];
}

export interface SwitchoverConfig {
  pause: PauseMethod;
  maxPauseMs: number;
  reverse: boolean;
  pgbouncer?: { admin: ConnParams; adminPassword?: string; config?: string; database?: string };
  command?: { pause: string; resume: string; timeoutMs: number };
}

export interface Config {
  file: string;
  source: EndpointConfig;
  target: EndpointConfig;
  databases: Map<string, DatabaseConfig>;
  switchover: SwitchoverConfig;
}

type Env = Record<string, string | undefined>;

/**
 * The keys each mapping of pgshift.yml accepts; anything else is an error.
 * schema/pgshift.schema.json (for editors) lists the same keys: a unit test
 * keeps the two in step.
 */
export const CONFIG_KEYS = {
  root: ['source', 'target', 'databases', 'switchover'],
  source: ['conn', 'password', 'system_identifier', 'conn_from_target'],
  target: ['conn', 'password', 'system_identifier', 'conn_from_source'],
  database: ['exclude'],
  switchover: ['pause', 'max_pause', 'reverse', 'pgbouncer', 'command'],
  pgbouncer: ['admin', 'password', 'config', 'database'],
  command: ['pause', 'resume', 'timeout'],
} as const;

class Ctx {
  constructor(
    readonly file: string,
    readonly doc: Document,
    readonly lines: LineCounter,
    readonly env: Env,
  ) {}

  fail(path: string, expected: string, node?: unknown): never {
    let where = path;
    const range = (node as YamlNode | undefined)?.range;
    if (range) where = `${path} (line ${this.lines.linePos(range[0]).line})`;
    throw new ConfigError(this.file, where, expected);
  }
}

function nodeAt(doc: Document, path: string[]): YamlNode | undefined {
  return doc.getIn(path, true) as YamlNode | undefined;
}

/** Expand ${VAR} (and $${ for a literal "${"). Unset variables are an error. */
export function expandVars(value: string, env: Env, onMissing: (name: string) => never): string {
  return value.replace(/\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
    if (m === '$${') return '${';
    const v = env[name!];
    if (v === undefined) return onMissing(name!);
    return v;
  });
}

function str(ctx: Ctx, obj: Record<string, unknown>, key: string, path: string, required: boolean, expect = 'a string'): string | undefined {
  const v = obj[key];
  const keyPath = path ? `${path}.${key}` : key;
  if (v === undefined || v === null) {
    if (required) ctx.fail(keyPath, `required (${expect})`);
    return undefined;
  }
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'bigint') {
    ctx.fail(keyPath, `expected ${expect}, found ${Array.isArray(v) ? 'a list' : typeof v}`, nodeAt(ctx.doc, keyPath.split('.')));
  }
  return expandVars(String(v), ctx.env, (name) =>
    ctx.fail(keyPath, `environment variable ${name} is not set (export it, or remove the \${${name}} reference)`),
  );
}

function passwordValue(ctx: Ctx, raw: unknown, path: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'bigint') ctx.fail(path, 'expected a string');
  let missing = false;
  const v = expandVars(String(raw), ctx.env, () => {
    missing = true;
    return '' as never;
  });
  return missing || v === '' ? undefined : v;
}

function obj(ctx: Ctx, v: unknown, path: string, required: boolean): Record<string, unknown> | undefined {
  if (v === undefined || v === null) {
    if (required) ctx.fail(path, 'required (a mapping)');
    return undefined;
  }
  if (typeof v !== 'object' || Array.isArray(v)) ctx.fail(path, 'expected a mapping of keys to values', nodeAt(ctx.doc, path.split('.')));
  return v as Record<string, unknown>;
}

function unknownKeys(ctx: Ctx, o: Record<string, unknown>, path: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      const p = path ? `${path}.${k}` : k;
      ctx.fail(p, `unknown key (expected one of: ${allowed.join(', ')})`);
    }
  }
}

function conn(ctx: Ctx, text: string, path: string): ConnParams {
  try {
    return parseLibpqConninfo(text);
  } catch (e) {
    if (e instanceof ConninfoSyntaxError) ctx.fail(path, `not a valid libpq connection string: ${e.message}`);
    throw e;
  }
}

/**
 * A connection pgshift itself opens: resolved as libpq would (service file,
 * PG* environment, defaults) against the environment the config is loaded
 * with, so a missing service or a multi-host list is a config error before
 * any connection is made.
 */
function ownConn(ctx: Ctx, text: string, path: string): ConnParams {
  const params = conn(ctx, text, path);
  let resolved: ConnParams;
  try {
    resolved = resolveConninfo(params, { env: ctx.env });
  } catch (e) {
    if (e instanceof ConninfoSyntaxError) ctx.fail(path, e.message);
    throw e;
  }
  const unsupported = unsupportedForPgshift(resolved);
  if (unsupported) ctx.fail(path, unsupported);
  return resolved;
}

function endpoint(ctx: Ctx, raw: unknown, side: 'source' | 'target'): EndpointConfig {
  const o = obj(ctx, raw, side, true)!;
  const peerKey = side === 'source' ? 'conn_from_target' : 'conn_from_source';
  unknownKeys(ctx, o, side, [...CONFIG_KEYS[side]]);
  const connText = str(ctx, o, 'conn', side, true, 'a libpq connection string, e.g. "host=db1 port=5432 user=postgres"')!;
  const params = ownConn(ctx, connText, `${side}.conn`);
  // An unset variable in `password` means "no password here": PGPASSFILE or
  // trust may still apply, and a failed login names the variable to set.
  // A password from the conn string, its service or PGPASSWORD comes next.
  let password = passwordValue(ctx, o.password, `${side}.password`);
  if (params.password !== undefined) {
    password ??= params.password;
    delete params.password;
  }
  const sysid = str(ctx, o, 'system_identifier', side, false);
  if (sysid === undefined) ctx.fail(`${side}.system_identifier`, 'required (run "pgshift init" to fill it in)');
  if (!/^\d{1,20}$/.test(sysid)) {
    // sql-lint: safe (an error message, not SQL)
    ctx.fail(`${side}.system_identifier`, `expected the cluster's numeric system identifier (SELECT system_identifier FROM pg_control_system()), found "${sysid}"`);
  }
  const peerText = str(ctx, o, peerKey, side, false);
  const connFromPeer = peerText === undefined ? undefined : conn(ctx, peerText, `${side}.${peerKey}`);
  if (password === '') password = undefined;
  return { conn: params, password, systemIdentifier: sysid, connFromPeer };
}

function stringList(ctx: Ctx, v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) ctx.fail(path, 'expected a list of schema.table names');
  return v.map((item, i) => {
    if (typeof item !== 'string' || !item) ctx.fail(`${path}[${i}]`, 'expected a schema.table name');
    return item;
  });
}

function databases(ctx: Ctx, raw: unknown): Map<string, DatabaseConfig> {
  const out = new Map<string, DatabaseConfig>();
  if (raw === undefined || raw === null) return out;
  if (Array.isArray(raw)) {
    raw.forEach((name, i) => {
      if (typeof name !== 'string' || !name) ctx.fail(`databases[${i}]`, 'expected a database name');
      out.set(name, { name, exclude: [] });
    });
    return out;
  }
  const o = obj(ctx, raw, 'databases', false)!;
  for (const [name, v] of Object.entries(o)) {
    const path = `databases.${name}`;
    const d = v === null || v === undefined ? {} : obj(ctx, v, path, false)!;
    unknownKeys(ctx, d, path, [...CONFIG_KEYS.database]);
    out.set(name, { name, exclude: stringList(ctx, d.exclude, `${path}.exclude`) });
  }
  return out;
}

function switchover(ctx: Ctx, raw: unknown): SwitchoverConfig {
  const o = obj(ctx, raw, 'switchover', false) ?? {};
  unknownKeys(ctx, o, 'switchover', [...CONFIG_KEYS.switchover]);
  const pause = (str(ctx, o, 'pause', 'switchover', false) ?? 'revoke') as PauseMethod;
  if (!PAUSE_METHODS.includes(pause)) ctx.fail('switchover.pause', `expected one of ${PAUSE_METHODS.join(' | ')}, found "${pause}"`);
  const maxPauseText = str(ctx, o, 'max_pause', 'switchover', false) ?? '5s';
  const maxPauseMs = parseDuration(maxPauseText);
  if (maxPauseMs === undefined || maxPauseMs <= 0) ctx.fail('switchover.max_pause', `expected a duration such as 500ms, 5s or 1m, found "${maxPauseText}"`);
  let reverse = true;
  if (o.reverse !== undefined) {
    if (typeof o.reverse !== 'boolean') ctx.fail('switchover.reverse', 'expected true or false');
    reverse = o.reverse;
  }
  const out: SwitchoverConfig = { pause, maxPauseMs, reverse };
  const pb = obj(ctx, o.pgbouncer, 'switchover.pgbouncer', pause === 'pgbouncer');
  if (pb) {
    unknownKeys(ctx, pb, 'switchover.pgbouncer', [...CONFIG_KEYS.pgbouncer]);
    const admin = ownConn(ctx, str(ctx, pb, 'admin', 'switchover.pgbouncer', true, 'a connection string to the PgBouncer admin console')!, 'switchover.pgbouncer.admin');
    let adminPassword = passwordValue(ctx, pb.password, 'switchover.pgbouncer.password');
    if (admin.password !== undefined) {
      adminPassword ??= admin.password;
      delete admin.password;
    }
    out.pgbouncer = {
      admin,
      adminPassword,
      config: str(ctx, pb, 'config', 'switchover.pgbouncer', false),
      database: str(ctx, pb, 'database', 'switchover.pgbouncer', false),
    };
  }
  const cmd = obj(ctx, o.command, 'switchover.command', pause === 'command');
  if (cmd) {
    unknownKeys(ctx, cmd, 'switchover.command', [...CONFIG_KEYS.command]);
    const timeoutText = str(ctx, cmd, 'timeout', 'switchover.command', false) ?? '30s';
    const timeoutMs = parseDuration(timeoutText);
    if (timeoutMs === undefined) ctx.fail('switchover.command.timeout', `expected a duration, found "${timeoutText}"`);
    out.command = {
      pause: str(ctx, cmd, 'pause', 'switchover.command', true, 'a shell command that stops the writers')!,
      resume: str(ctx, cmd, 'resume', 'switchover.command', true, 'a shell command that restarts the writers')!,
      timeoutMs,
    };
  }
  return out;
}

/** Parse and validate config text. `file` is only used in messages. */
export function parseConfig(text: string, file: string, env: Env = process.env): Config {
  const lines = new LineCounter();
  // intAsBigInt: a system identifier is a 64-bit number; as a JS number it would lose digits.
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: true, uniqueKeys: true, prettyErrors: false });
  const label = basename(file);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    throw new ConfigError(label, pos ? `line ${pos.line} column ${pos.col}` : '', `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  const ctx = new Ctx(label, doc, lines, env);
  if (!isMap(doc.contents)) {
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) ctx.fail('', 'the file is empty (run "pgshift init" to write one)');
    ctx.fail('', 'expected a mapping with the keys source, target, databases');
  }
  const root = doc.toJS({ mapAsMap: false }) as Record<string, unknown>;
  unknownKeys(ctx, root, '', [...CONFIG_KEYS.root]);
  const source = endpoint(ctx, root.source, 'source');
  const target = endpoint(ctx, root.target, 'target');
  if (source.systemIdentifier === target.systemIdentifier) {
    ctx.fail('target.system_identifier', `is the same as source.system_identifier (${source.systemIdentifier}): source and target must be different clusters`);
  }
  return {
    file: label,
    source,
    target,
    databases: databases(ctx, root.databases),
    switchover: switchover(ctx, root.switchover),
  };
}

export function loadConfig(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ConfigError(file, '', 'file not found', { hint: 'Run "pgshift init --source CONN --target CONN" to write one, or pass -c FILE.' });
    }
    throw new ConfigError(file, '', `cannot read: ${(e as Error).message}`);
  }
  return parseConfig(text, file, env);
}

/** The config of one database; it must be in the config. */
export function databaseConfig(config: Config, database: string): DatabaseConfig {
  const d = config.databases.get(database);
  if (!d) {
    const known = [...config.databases.keys()];
    throw new ConfigError(config.file, `databases.${database}`,
      `database "${database}" is not in the config (${known.length ? `configured: ${known.join(', ')}` : 'none configured'}; add it under "databases:")`);
  }
  return d;
}

/** The databases a command acts on: the ones named (each once; each must be in the config), or all. */
export function selectDatabases(config: Config, names: string[]): DatabaseConfig[] {
  if (names.length === 0) return [...config.databases.values()];
  return [...new Set(names)].map((n) => databaseConfig(config, n));
}
