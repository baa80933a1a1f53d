// Every CLI command, in the order the help lists them.

import type { Command } from '../command.js';
import { command as init } from './init.js';
import { command as check } from './check.js';
import { command as roles } from './roles.js';
import { command as schema } from './schema.js';
import { command as start } from './start.js';
import { command as wait } from './wait.js';
import { command as status } from './status.js';
import { command as verify } from './verify.js';
import { command as switchover } from './switchover.js';
import { command as rollback } from './rollback.js';
import { command as cleanup } from './cleanup.js';
import { command as run } from './run.js';
import { command as load } from './load.js';
import { command as loadCheck } from './load-check.js';
import { command as exec } from './exec.js';
import { command as demo } from './demo.js';
import { command as report } from './report.js';

export const COMMANDS: Command[] = [
  init, check, roles, schema, start, wait, status, verify, switchover, rollback, cleanup, report, run, load, loadCheck, exec, demo,
];
