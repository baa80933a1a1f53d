import { notYet } from './not-yet.js';

export const command = notYet('load-check', 'load-check DB --ledger FILE', 'every acknowledged write is on the target');
