import { notYet } from './not-yet.js';

export const command = notYet('demo', 'demo [--from 13] [--to 17] [--keep]', 'the whole flow on embedded clusters');
