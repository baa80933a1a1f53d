import { notYet } from './not-yet.js';

export const command = notYet('wait', 'wait DB [--timeout D] [--max-lag BYTES]', 'until every table is ready and lag is small');
