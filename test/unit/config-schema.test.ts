// The JSON Schema of pgshift.yml (schema/pgshift.schema.json) stays in step
// with the loader: the same keys at every level, the same pause methods, and
// for a set of configs, the schema accepts exactly those the loader accepts
// (structural mistakes; what only a connection can tell is out of its reach).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { CONFIG_KEYS, PAUSE_METHODS, parseConfig } from '../../src/config/config.js';
import { ConfigError } from '../../src/errors.js';
import { schemaModeline, schemaPath } from '../../src/config/schema.js';
import { renderConfig } from '../../src/steps/init.js';

type Schema = {
  type?: string | string[]; properties?: Record<string, Schema>; required?: string[]; additionalProperties?: boolean | Schema;
  items?: Schema; enum?: unknown[]; const?: unknown; pattern?: string; oneOf?: Schema[]; allOf?: Schema[]; $ref?: string;
  if?: Schema; then?: Schema; minLength?: number; definitions?: Record<string, Schema>;
};

const schema = JSON.parse(readFileSync(schemaPath(), 'utf8')) as Schema;

/** A validator for the draft-07 subset the schema uses; returns the paths that fail. */
function validate(s: Schema, v: unknown, path = '$'): string[] {
  if (s.$ref) return validate(schema.definitions![s.$ref.replace('#/definitions/', '')]!, v, path);
  const errors: string[] = [];
  const typeOf = (x: unknown): string => x === null ? 'null' : Array.isArray(x) ? 'array' : Number.isInteger(x) ? 'integer' : typeof x;
  if (s.type) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(v);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${path}: ${t} is not ${types.join('|')}`];
  }
  if (s.enum && !s.enum.includes(v)) errors.push(`${path}: not one of ${s.enum.join(', ')}`);
  if (s.const !== undefined && v !== s.const) errors.push(`${path}: not ${String(s.const)}`);
  if (s.pattern && typeof v === 'string' && !new RegExp(s.pattern).test(v)) errors.push(`${path}: does not match ${s.pattern}`);
  if (s.minLength !== undefined && typeof v === 'string' && v.length < s.minLength) errors.push(`${path}: too short`);
  if (s.oneOf && s.oneOf.filter((o) => validate(o, v, path).length === 0).length !== 1) errors.push(`${path}: not exactly one of oneOf`);
  for (const a of s.allOf ?? []) errors.push(...validate(a, v, path));
  if (s.if && validate(s.if, v, path).length === 0 && s.then) errors.push(...validate(s.then, v, path));
  if (typeOf(v) === 'object') {
    const o = v as Record<string, unknown>;
    for (const r of s.required ?? []) if (!(r in o)) errors.push(`${path}.${r}: required`);
    for (const [k, x] of Object.entries(o)) {
      const p = s.properties?.[k];
      if (p) errors.push(...validate(p, x, `${path}.${k}`));
      else if (s.additionalProperties === false) errors.push(`${path}.${k}: unknown key`);
      else if (typeof s.additionalProperties === 'object') errors.push(...validate(s.additionalProperties, x, `${path}.${k}`));
    }
  }
  if (typeOf(v) === 'array' && s.items) (v as unknown[]).forEach((x, i) => errors.push(...validate(s.items!, x, `${path}[${i}]`)));
  return errors;
}

const keys = (s: Schema): string[] => Object.keys(s.properties ?? {}).sort();

test('the schema has the loader\'s keys at every level and its pause methods', () => {
  const p = schema.properties!;
  const so = p.switchover!.properties!;
  const database = p.databases!.oneOf![2]!.additionalProperties as Schema;
  assert.deepEqual(keys(schema), [...CONFIG_KEYS.root].sort());
  assert.deepEqual(keys(p.source!), [...CONFIG_KEYS.source].sort());
  assert.deepEqual(keys(p.target!), [...CONFIG_KEYS.target].sort());
  assert.deepEqual(keys(database.oneOf![1]!), [...CONFIG_KEYS.database].sort());
  assert.deepEqual(keys(p.switchover!), [...CONFIG_KEYS.switchover].sort());
  assert.deepEqual(keys(so.pgbouncer!), [...CONFIG_KEYS.pgbouncer].sort());
  assert.deepEqual(keys(so.command!), [...CONFIG_KEYS.command].sort());
  assert.deepEqual(so.pause!.enum, [...PAUSE_METHODS]);
});

const BASE = `source:
  conn: "host=db1 user=postgres"
  password: \${PW}
  system_identifier: 7301234567890123456
target:
  conn: "postgres://postgres@db2/postgres"
  system_identifier: "7309876543210987654"
`;

const CASES: [string, string][] = [
  ['minimal', BASE],
  ['databases as a list', `${BASE}databases: [app, shop]\n`],
  ['databases as a mapping', `${BASE}databases:\n  app:\n  shop: {exclude: [public.t, "audit.*"]}\n`],
  ['full switchover', `${BASE}switchover:\n  pause: pgbouncer\n  max_pause: 1h30min\n  reverse: false\n  pgbouncer: {admin: "host=127.0.0.1 port=6432 user=pgbouncer dbname=pgbouncer", config: /etc/pgbouncer/pgbouncer.ini}\n`],
  ['command pause', `${BASE}switchover:\n  pause: command\n  command: {pause: ./stop.sh, resume: ./start.sh, timeout: 10 min}\n`],
  ['an unknown root key', `${BASE}databses: [app]\n`],
  ['an unknown source key', BASE.replace('  password:', '  passwd:')],
  ['no system_identifier', BASE.replace('  system_identifier: 7301234567890123456\n', '')],
  ['a bad system_identifier', BASE.replace('7301234567890123456', 'abc')],
  ['no target', BASE.slice(0, BASE.indexOf('target:'))],
  ['an unknown pause method', `${BASE}switchover: {pause: stop}\n`],
  ['pgbouncer without its settings', `${BASE}switchover: {pause: pgbouncer}\n`],
  ['command without its settings', `${BASE}switchover: {pause: command}\n`],
  ['a bad duration', `${BASE}switchover: {max_pause: soon}\n`],
  ['reverse not a boolean', `${BASE}switchover: {reverse: "yes please"}\n`],
  ['an unknown database key', `${BASE}databases:\n  app: {exclud: [x]}\n`],
  ['exclude not a list', `${BASE}databases:\n  app: {exclude: public.t}\n`],
  ['an unknown pgbouncer key', `${BASE}switchover:\n  pause: pgbouncer\n  pgbouncer: {admin: "host=h", ini: x}\n`],
  ['command without resume', `${BASE}switchover:\n  pause: command\n  command: {pause: ./stop.sh}\n`],
];

test('for each config, the schema accepts it exactly when the loader does', () => {
  for (const [what, text] of CASES) {
    let loader = true;
    try {
      parseConfig(text, 'p.yml', { PW: 'x' });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      loader = false;
    }
    const errors = validate(schema, parseDocument(text).toJS());
    assert.equal(errors.length === 0, loader, `${what}: loader ${loader ? 'accepts' : 'refuses'}, schema says ${errors.join('; ') || 'ok'}`);
  }
});

test('the config init writes names the shipped schema in its first line, and the schema accepts it', () => {
  assert.ok(existsSync(schemaPath()), `${schemaPath()} is missing`);
  const probed = { params: { host: 'h', port: '5432', user: 'u' }, hadPassword: false, sysid: '1', version: { major: 16, minor: 0, num: 160000, text: '16.0' }, databases: ['app'] };
  const text = renderConfig(probed as never, { ...probed, sysid: '2' } as never);
  assert.equal(text.split('\n')[0], schemaModeline());
  assert.match(schemaModeline(), /^# yaml-language-server: \$schema=\/.*\/schema\/pgshift\.schema\.json$/);
  assert.deepEqual(validate(schema, parseDocument(text).toJS()), []);
  parseConfig(text, 'p.yml', { PGSHIFT_SOURCE_PASSWORD: 'a', PGSHIFT_TARGET_PASSWORD: 'b' });
});
