import { notYet } from './not-yet.js';

export const command = notYet('rollback', 'rollback DB', 'move writes back to the source');
