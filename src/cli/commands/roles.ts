import { notYet } from './not-yet.js';

export const command = notYet('roles', 'roles [--no-passwords] [--managed]', 'copy roles to the target');
