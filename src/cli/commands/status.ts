import { notYet } from './not-yet.js';

export const command = notYet('status', 'status [DB...] [--watch]', 'per-table sync state, lag, slot health, errors');
