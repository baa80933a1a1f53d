// Catalog queries live in src/pg/sql/*.sql, each opening with its parameter
// contract, so they can be read and run in psql on their own. This module
// loads them by name, and fits a query to a server version in one place.
//
// Where a catalog column or function a query needs is missing from an older
// server, the file holds both forms, gated by a feature of version.ts:
//
//   --#if generatedColumns
//          a.attgenerated <> '' AS generated,
//   --#else
//   --|       false AS generated,
//   --#end
//
// The current form is plain SQL, so the file as it stands runs in psql on a
// current server; the older form's lines start with "--|". sqlFor keeps the
// branch the server's features choose (and uncomments the older form).

import { readFileSync } from 'node:fs';
import { featuresOf, type Features, type ServerVersion } from './version.js';

const cache = new Map<string, string>();

/** A query with no version gates (one with gates: sqlFor). */
export function sqlFile(name: string): string {
  const text = readSql(name);
  if (text.includes('\n--#if ')) throw new Error(`${name}.sql has version gates: load it with sqlFor(name, version)`);
  return text;
}

function readSql(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** The text of a query as this server needs it (its version gates applied). */
export function sqlFor(name: string, version: ServerVersion | number): string {
  return applyGates(readSql(name), featuresOf(version), name);
}

/** Keep, of each `--#if FEATURE … [--#else …] --#end` block, the branch `features` choose. */
export function applyGates(text: string, features: Features, name = 'query'): string {
  if (!text.includes('--#if ')) return text;
  const out: string[] = [];
  let gate: { on: boolean; inElse: boolean } | undefined;
  for (const line of text.split('\n')) {
    const open = /^--#if (\w+)\s*$/.exec(line);
    if (open) {
      if (gate) throw new Error(`${name}.sql: nested --#if`);
      const feature = open[1]! as keyof Features;
      if (!(feature in features)) throw new Error(`${name}.sql: --#if names ${feature}, which is no feature of src/pg/version.ts`);
      gate = { on: Boolean(features[feature]), inElse: false };
    } else if (/^--#else\s*$/.test(line)) {
      if (!gate || gate.inElse) throw new Error(`${name}.sql: --#else without --#if`);
      gate.inElse = true;
    } else if (/^--#end\s*$/.test(line)) {
      if (!gate) throw new Error(`${name}.sql: --#end without --#if`);
      gate = undefined;
    } else if (!gate) {
      out.push(line);
    } else if (!gate.inElse) {
      if (gate.on) out.push(line);
    } else if (!gate.on) {
      if (line.startsWith('--|')) out.push(line.slice(3));
      else if (!line.startsWith('--')) throw new Error(`${name}.sql: a line of an --#else branch is neither "--|" code nor a comment: ${line}`);
    }
  }
  if (gate) throw new Error(`${name}.sql: --#if without --#end`);
  return out.join('\n');
}
