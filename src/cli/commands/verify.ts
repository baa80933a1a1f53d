import { notYet } from './not-yet.js';

export const command = notYet('verify', 'verify DB [--mode count|sample|full]', 'compare data on both sides');
