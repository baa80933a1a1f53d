import { notYet } from './not-yet.js';

export const command = notYet('cleanup', 'cleanup DB', 'drop what pgshift created on both sides');
