// Catalog queries live in src/pg/sql/*.sql, each opening with its parameter
// contract, so they can be read and run in psql on their own. This module
// loads them by name, and picks a query's version variant in one place:
// where a catalog column or function a query needs is missing from an older
// server, that server gets a file of its own (VARIANTS), chosen by the
// feature gates of version.ts.

import { readFileSync } from 'node:fs';
import { featuresOf, type Features, type ServerVersion } from './version.js';

const cache = new Map<string, string>();

export function sqlFile(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./sql/${name}.sql`, import.meta.url), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** Queries with version variants: the file that serves a server with these features. */
const VARIANTS: Record<string, (f: Features) => string> = {
  'replica-identity': (f) => (f.indexIncludeColumns ? 'replica-identity' : 'replica-identity-10'),
  'start-partition-roots': (f) => (f.partitionTreeFunctions ? 'start-partition-roots' : 'start-partition-roots-10'),
  'status-source': (f) => (f.replicationReplyTime ? 'status-source' : 'status-source-10'),
  'status-source-tables': (f) => (f.partitionTreeFunctions ? 'status-source-tables' : 'status-source-tables-10'),
  'fastcopy-leaves': (f) => (f.partitionTreeFunctions ? 'fastcopy-leaves' : 'fastcopy-leaves-10'),
  'schema-columns': (f) => (f.generatedColumns ? 'schema-columns' : 'schema-columns-10'),
  'fastcopy-columns': (f) => (f.generatedColumns ? 'fastcopy-columns' : 'fastcopy-columns-10'),
  'carry-columns': (f) => (f.generatedColumns ? 'carry-columns' : 'carry-columns-10'),
  'verify-columns': (f) => (f.indexIncludeColumns ? 'verify-columns' : 'verify-columns-10'),
  'reverse-published-columns': (f) => (f.publicationColumnLists ? 'reverse-published-columns-15' : 'reverse-published-columns'),
  'roles-members': (f) => (f.grantRoleOptions ? 'roles-members-16' : 'roles-members'),
  'secret-settings': (f) => (f.grantSetParameter ? 'secret-settings-15' : 'secret-settings'),
};

/** The text of a query in the variant for this server (VARIANTS), or the one file there is. */
export function sqlFor(name: string, version: ServerVersion | number): string {
  const pick = VARIANTS[name];
  return sqlFile(pick ? pick(featuresOf(version)) : name);
}
