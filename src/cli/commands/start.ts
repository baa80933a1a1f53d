import { notYet } from './not-yet.js';

export const command = notYet('start', 'start DB [--copy native|fast]', 'publication on the source, subscription on the target');
