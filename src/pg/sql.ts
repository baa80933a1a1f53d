// Catalog queries live in src/pg/sql/*.sql, each opening with its parameter
// contract, so they can be read and run in psql on their own. This module
// loads them by name.

import { readFileSync } from 'node:fs';

const cache = new Map<string, string>();

export function sqlFile(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return text;
}
