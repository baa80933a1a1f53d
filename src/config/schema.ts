// The JSON Schema of pgshift.yml that ships in the package
// (schema/pgshift.schema.json), for editors: the file "pgshift init" writes
// names it in a yaml-language-server modeline, by its absolute path in this
// installation, so completion and checking work without a network.

import { fileURLToPath } from 'node:url';

/** The schema's path: from dist/src/config/ (or src/config/) up to the package root. */
export function schemaPath(): string {
  return fileURLToPath(new URL('../../../schema/pgshift.schema.json', import.meta.url));
}

/** The first line of a config pgshift writes. */
export function schemaModeline(): string {
  return `# yaml-language-server: $schema=${schemaPath()}`;
}
