import { notYet } from './not-yet.js';

export const command = notYet('check', 'check [DB...]', 'readiness report; exit 1 on a blocking finding');
