import { notYet } from './not-yet.js';

export const command = notYet('switchover', 'switchover DB [--pause M] [--max-pause D] [--no-reverse]', 'move writes to the target');
