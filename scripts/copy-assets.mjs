// Copy the .sql files next to the compiled modules that load them.
// Usage: node scripts/copy-assets.mjs [outDir]   (default: dist)
import { cpSync, mkdirSync } from 'node:fs';

const out = process.argv[2] ?? 'dist';
mkdirSync(`${out}/src/pg/sql`, { recursive: true });
cpSync('src/pg/sql', `${out}/src/pg/sql`, { recursive: true });
