// Copy the .sql files next to the compiled modules that load them.
import { cpSync, mkdirSync } from 'node:fs';

mkdirSync('dist/src/pg/sql', { recursive: true });
cpSync('src/pg/sql', 'dist/src/pg/sql', { recursive: true });
