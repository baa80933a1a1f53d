import { notYet } from './not-yet.js';

export const command = notYet('run', 'run DB', 'check, roles, schema, start, wait; resumable');
