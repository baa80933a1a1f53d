import { notYet } from './not-yet.js';

export const command = notYet('schema', 'schema DB [--existing]', 'copy the schema, or check a pre-provisioned one');
