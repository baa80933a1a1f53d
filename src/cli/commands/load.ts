import { notYet } from './not-yet.js';

export const command = notYet('load', 'load DB [--clients N] [--duration D] [--ledger FILE]', 'ledgered write load');
