// PgBouncer (the system binary) in front of an embedded cluster, for tests,
// benchmarks and the demo: transaction pooling on a free port, an auth_file
// holding the users' plain passwords (so PgBouncer can answer SCRAM itself and
// log in to either server), and an admin user for the console. PgBouncer
// refuses to run as root, so when we are root it runs as the same
// unprivileged user as the clusters. It is stopped when the process exits.

import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError } from '../errors.js';
import { runAsUser } from './binaries.js';
import { embeddedBaseDir, freePort, registerResource, unregisterResource } from './cluster.js';
import type { ConnParams } from '../config/conninfo.js';
import { sleep } from '../util/wait.js';

export const PGBOUNCER_BIN = process.env.PGSHIFT_PGBOUNCER ?? '/usr/sbin/pgbouncer';
export const PGBOUNCER_ADMIN = 'pgbouncer_admin';

export interface BouncerDatabase {
  host: string;
  port: number;
  dbname: string;
}

export interface PgBouncerOptions {
  /** PgBouncer database name -> the server it points at. */
  databases: Record<string, BouncerDatabase>;
  /** Users allowed to log in (name -> plain password). */
  users: Record<string, string>;
  poolSize?: number;
  authType?: 'scram-sha-256' | 'md5';
  /** More [pgbouncer] settings (e.g. min_pool_size), written after the defaults. */
  settings?: Record<string, string | number>;
}

function iniValue(v: string): string {
  // PgBouncer's [databases] values are libpq-style key=value strings.
  return /^[A-Za-z0-9_.\-/]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function authLine(user: string, password: string): string {
  return `"${user.replace(/"/g, '""')}" "${password.replace(/"/g, '""')}"`;
}

export function databaseEntry(name: string, d: BouncerDatabase): string {
  return `${iniKey(name)} = host=${iniValue(d.host)} port=${d.port} dbname=${iniValue(d.dbname)}`;
}

function iniKey(name: string): string {
  return /^[A-Za-z0-9_]+$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

export class EmbeddedPgBouncer {
  private child?: ChildProcess;
  private exited = false;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly adminPassword: string,
  ) {}

  get configFile(): string {
    return join(this.dir, 'pgbouncer.ini');
  }

  get pidFile(): string {
    return join(this.dir, 'pgbouncer.pid');
  }

  get logFile(): string {
    return join(this.dir, 'pgbouncer.log');
  }

  static async start(opts: PgBouncerOptions): Promise<EmbeddedPgBouncer> {
    if (!existsSync(PGBOUNCER_BIN)) {
      throw new ToolError('pgbouncer_missing', `PgBouncer not found at ${PGBOUNCER_BIN}`, {
        hint: 'Install it (apt-get install -y pgbouncer) or set PGSHIFT_PGBOUNCER to its path.',
      });
    }
    const runAs = runAsUser();
    const base = embeddedBaseDir();
    mkdirSync(base, { recursive: true });
    // "b-<pid>-" so the cluster harness's stale sweep finds and stops it after a crash.
    const dir = mkdtempSync(join(base, `b-${process.pid}-`));
    const port = await freePort();
    const adminPassword = `admin-${Math.random().toString(36).slice(2)}`;
    const b = new EmbeddedPgBouncer(dir, port, adminPassword);
    const dbLines = Object.entries(opts.databases).map(([n, d]) => databaseEntry(n, d));
    const ini = [
      '[databases]',
      ...dbLines,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      `auth_type = ${opts.authType ?? 'scram-sha-256'}`,
      `auth_file = ${join(dir, 'users.txt')}`,
      `admin_users = ${PGBOUNCER_ADMIN}`,
      'pool_mode = transaction',
      `default_pool_size = ${opts.poolSize ?? 20}`,
      'max_client_conn = 500',
      `pidfile = ${b.pidFile}`,
      `logfile = ${b.logFile}`,
      'ignore_startup_parameters = extra_float_digits,options',
      'server_reset_query =',
      // server_check_delay stays at its default (30 s): 0 would run server_check_query
      // before every reuse of a server connection, a round trip per transaction that
      // a production PgBouncer does not make, and one more per handover after a RESUME.
      'log_connections = 0',
      'log_disconnections = 0',
      ...Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${v}`),
      '',
    ].join('\n');
    writeFileSync(b.configFile, ini, { mode: 0o600 });
    const users = { ...opts.users, [PGBOUNCER_ADMIN]: adminPassword };
    writeFileSync(join(dir, 'users.txt'), Object.entries(users).map(([u, p]) => authLine(u, p)).join('\n') + '\n', { mode: 0o600 });
    if (runAs) {
      chmodSync(dir, 0o700);
      for (const f of [dir, b.configFile, join(dir, 'users.txt')]) chownSync(f, runAs.uid, runAs.gid);
    }
    registerResource(b);
    const child = spawn(PGBOUNCER_BIN, [b.configFile], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    });
    b.child = child;
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', () => (b.exited = true));
    const deadline = Date.now() + 10_000;
    while (!(await b.listening())) {
      if (b.exited || Date.now() > deadline) {
        const log = b.log().split('\n').slice(-5).join(' | ');
        await b.stop();
        throw new ToolError('pgbouncer_start_failed', `PgBouncer did not start: ${stderr.trim() || log}`);
      }
      await sleep(50);
    }
    return b;
  }

  private async listening(): Promise<boolean> {
    const net = await import('node:net');
    return new Promise((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: this.port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  /** libpq parameters for clients going through PgBouncer. */
  params(database: string, user = 'postgres'): ConnParams {
    return { host: '127.0.0.1', port: String(this.port), user, dbname: database };
  }

  /** libpq parameters for the admin console (password: adminPassword). */
  adminParams(): ConnParams {
    return { host: '127.0.0.1', port: String(this.port), user: PGBOUNCER_ADMIN, dbname: 'pgbouncer' };
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  killSync(): void {
    if (this.child && !this.exited) {
      try {
        this.child.kill('SIGTERM');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    unregisterResource(this);
  }

  async stop(): Promise<void> {
    if (this.child && !this.exited) {
      const done = new Promise<void>((r) => this.child!.once('exit', () => r()));
      // SIGINT: PgBouncer's "safe shutdown" would wait for clients; SIGTERM closes at once.
      this.child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
      if (!this.exited) this.child.kill('SIGKILL');
    }
    this.killSync();
  }
}
