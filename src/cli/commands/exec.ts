import { notYet } from './not-yet.js';

export const command = notYet('exec', 'exec -- CMD [ARG...]', 'run CMD with verified connection env');
