// The write load with its ledger, and the check that every acknowledged write arrived.
export { startLoad, runLoad, type LoadOptions, type LoadReport, type LoadHandle } from './generator.js';
export { checkLedger, type LoadCheckOptions, type LoadCheckReport } from './check.js';
export { ensureLoadSchema, LOAD_SCHEMA, LOAD_SCHEMA_SQL } from './schema.js';
