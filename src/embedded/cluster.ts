// Real PostgreSQL clusters for tests, benchmarks and the demo: any major
// version we have binaries for, in a temp dir, on a free port, with
// wal_level=logical and room for slots, senders and workers. initdb runs
// once per version (a template copied for each cluster). Clusters are
// stopped and removed when the process exits, is interrupted, or — if it was
// killed — by the next process that starts one.

import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { binariesFor, findBinaries, runAsUser, type PgBinaries, type RunAs } from './binaries.js';
import { formatConninfo, type ConnParams } from '../config/conninfo.js';
import type { EndpointConfig } from '../config/config.js';
import { quoteIdent } from '../pg/quote.js';

const execFileP = promisify(execFile);

export const EMBEDDED_SUPERUSER = 'postgres';
export const EMBEDDED_PASSWORD = 'pgshift-embedded';

export function embeddedBaseDir(): string {
  return join(tmpdir(), 'pgshift-embedded');
}

export interface ClusterOptions {
  major: number;
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string | number | boolean>;
  /** Durability off (fsync, full_page_writes) for speed; the default. The demo keeps it off too. */
  fast?: boolean;
  /** Human label used in directory names and messages. */
  name?: string;
  /**
   * Run initdb for this cluster instead of copying the per-version template.
   * Copies share the template's system_identifier (like a clone would), so a
   * second cluster of the same version in one test needs its own initdb.
   */
  fresh?: boolean;
  /**
   * Start from a copy of this data directory (a stopped cluster of the same
   * major version, e.g. a corpus built once per run) instead of the template.
   */
  dataFrom?: string;
  /**
   * TLS only: a throwaway CA and server certificate (for 127.0.0.1 and
   * localhost) are made in the cluster's directory, ssl = on, and pg_hba.conf
   * accepts TCP connections (replication ones too) only over TLS. The CA is
   * at `cluster.tls.caFile`, readable by the server user, so a subscription
   * on another embedded cluster can name it in sslrootcert.
   */
  tls?: boolean;
}

export interface ClusterTls {
  /** The CA certificate that signed the server's certificate (PEM). */
  caFile: string;
  certFile: string;
  keyFile: string;
}

interface Resource {
  killSync(): void;
}

const live = new Set<Resource>();
let handlersInstalled = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', () => {
    for (const r of live) r.killSync();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const r of live) r.killSync();
      // The embedded harness owns these servers; on an interrupt it stops them and
      // ends the process like the default handler it replaced would have.
      // eslint-disable-next-line no-restricted-properties
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

export function registerResource(r: Resource): void {
  installExitHandlers();
  live.add(r);
}

export function unregisterResource(r: Resource): void {
  live.delete(r);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readPid(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Stop and remove what processes that died without cleaning up left behind. */
export function sweepStale(): void {
  const base = embeddedBaseDir();
  if (!existsSync(base)) return;
  for (const name of readdirSync(base)) {
    const m = /^[a-z]+-(\d+)-/.exec(name);
    if (!m) continue;
    const owner = Number(m[1]);
    if (owner === process.pid || pidAlive(owner)) continue;
    const dir = join(base, name);
    for (const pidFile of [join(dir, 'data', 'postmaster.pid'), join(dir, 'pgbouncer.pid')]) {
      const pid = readPid(pidFile);
      if (pid && pidAlive(pid)) {
        try {
          process.kill(pid, pidFile.endsWith('postmaster.pid') ? 'SIGQUIT' : 'SIGTERM');
        } catch {
          // gone already
        }
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function ensureBase(runAs: RunAs | null): string {
  const base = embeddedBaseDir();
  mkdirSync(base, { recursive: true });
  if (runAs) chmodSync(base, 0o755);
  return base;
}

function childEnv(bins: PgBinaries): NodeJS.ProcessEnv {
  return {
    PATH: `${bins.bin}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

async function runAsync(bins: PgBinaries, runAs: RunAs | null, tool: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileP(join(bins.bin, tool), args, {
      cwd,
      env: childEnv(bins),
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${tool} failed: ${err.stderr?.trim() || err.message}`, { cause: e });
  }
}

/** initdb once per binary version; clusters copy the result. */
async function initdb(bins: PgBinaries, runAs: RunAs | null, work: string, data: string): Promise<void> {
  const pwfile = join(work, 'pw');
  writeFileSync(pwfile, EMBEDDED_PASSWORD + '\n', { mode: 0o600 });
  if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
  try {
    await runAsync(bins, runAs, 'initdb', [
      '-D', data, '-U', EMBEDDED_SUPERUSER, '--pwfile', pwfile, '-E', 'UTF8', '--locale', 'C',
      '--auth-local', 'trust', '--auth-host', 'scram-sha-256', '--no-sync',
    ], work);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

async function template(bins: PgBinaries, runAs: RunAs | null, base: string): Promise<string> {
  const dir = join(base, `template-pg${bins.major}-${bins.version}-${runAs?.uid ?? process.getuid?.() ?? 0}`);
  if (existsSync(join(dir, 'PG_VERSION'))) return dir;
  const work = mkdtempSync(join(base, `tmpl-${process.pid}-`));
  if (runAs) chownSync(work, runAs.uid, runAs.gid);
  const data = join(work, 'data');
  await initdb(bins, runAs, work, data);
  try {
    renameSync(data, dir);
  } catch {
    // another process won the race; theirs is as good as ours
  }
  rmSync(work, { recursive: true, force: true });
  return dir;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/local/bin:/usr/bin:/bin' } });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`, { cause: e });
  }
}

/**
 * A throwaway CA and a server certificate it signed, valid for 127.0.0.1 and
 * localhost (so sslmode=verify-full works). PostgreSQL refuses a key file
 * that others can read, and must own it: 0600, owned by the server user.
 */
function makeTlsFiles(dir: string, runAs: RunAs | null): ClusterTls {
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { mode: 0o755 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '7', '-subj', '/CN=pgshift embedded test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], tlsDir);
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], tlsDir);
  // libpq before 15 matches only DNS names, so 127.0.0.1 is a DNS name as well as an IP address.
  writeFileSync(join(tlsDir, 'server.ext'), 'subjectAltName = IP:127.0.0.1, DNS:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '7',
    '-extfile', 'server.ext'], tlsDir);
  // Nobody needs to sign anything else with it.
  rmSync(join(tlsDir, 'ca.key'));
  const files = { caFile: join(tlsDir, 'ca.crt'), certFile: join(tlsDir, 'server.crt'), keyFile: join(tlsDir, 'server.key') };
  chmodSync(files.keyFile, 0o600);
  chmodSync(files.caFile, 0o644);
  chmodSync(files.certFile, 0o644);
  if (runAs) {
    chownSync(tlsDir, runAs.uid, runAs.gid);
    for (const f of Object.values(files)) chownSync(f, runAs.uid, runAs.gid);
  }
  return files;
}

/** TCP only over TLS, for every database and for replication; the Unix socket (pg_ctl, the harness) stays trusted. */
function writeTlsOnlyHba(dataDir: string): void {
  writeFileSync(join(dataDir, 'pg_hba.conf'), [
    '# pgshift embedded, TLS only',
    'local     all          all                trust',
    'hostnossl all          all          all   reject',
    'hostnossl replication  all          all   reject',
    'hostssl   all          all          all   scram-sha-256',
    'hostssl   replication  all          all   scram-sha-256',
    '',
  ].join('\n'));
}

export class EmbeddedCluster implements Resource {
  readonly host = '127.0.0.1';
  readonly superuser = EMBEDDED_SUPERUSER;
  password = EMBEDDED_PASSWORD;
  /** Set when the cluster was started with `tls: true`: it then accepts TCP connections only over TLS. */
  tls: ClusterTls | undefined;
  private stopped = true;

  private constructor(
    readonly major: number,
    readonly bins: PgBinaries,
    readonly runAs: RunAs | null,
    readonly dir: string,
    public port: number,
  ) {}

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  get socketDir(): string {
    return join(this.dir, 'sock');
  }

  get logFile(): string {
    return join(this.dir, 'server.log');
  }

  static async start(opts: ClusterOptions): Promise<EmbeddedCluster> {
    const runAs = runAsUser();
    const bins = binariesFor(findBinaries(opts.major), runAs);
    const base = ensureBase(runAs);
    sweepStale();
    const dir = mkdtempSync(join(base, `c-${process.pid}-${opts.name ? opts.name.replace(/[^a-z0-9]/gi, '') + '-' : ''}`));
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    if (opts.dataFrom) {
      execFileSync('cp', ['-a', opts.dataFrom, join(dir, 'data')]);
    } else if (opts.fresh) {
      await initdb(bins, runAs, dir, join(dir, 'data'));
    } else {
      const tmpl = await template(bins, runAs, base);
      // cp -a keeps the owner and the 0700 mode PostgreSQL insists on.
      execFileSync('cp', ['-a', tmpl, join(dir, 'data')]);
    }
    mkdirSync(join(dir, 'sock'));
    if (runAs) chownSync(join(dir, 'sock'), runAs.uid, runAs.gid);
    const port = await freePort();
    const c = new EmbeddedCluster(opts.major, bins, runAs, dir, port);
    registerResource(c);
    if (opts.tls) {
      try {
        c.tls = makeTlsFiles(dir, runAs);
        writeTlsOnlyHba(c.dataDir);
      } catch (e) {
        c.killSync();
        throw e;
      }
    }
    const fast = opts.fast ?? true;
    const settings: Record<string, string | number | boolean> = {
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: c.socketDir,
      wal_level: 'logical',
      max_replication_slots: 20,
      max_wal_senders: 20,
      max_worker_processes: 16,
      max_logical_replication_workers: 10,
      max_sync_workers_per_subscription: 2,
      max_connections: 100,
      shared_buffers: '128MB',
      wal_sender_timeout: '30s',
      wal_receiver_timeout: '30s',
      logging_collector: false,
      log_min_messages: 'warning',
      log_line_prefix: '%m [%p] %q%u@%d ',
      ...(fast ? { fsync: false, full_page_writes: false, synchronous_commit: 'off' } : {}),
      ...(c.tls ? { ssl: true, ssl_cert_file: c.tls.certFile, ssl_key_file: c.tls.keyFile } : {}),
      ...opts.settings,
    };
    c.writeSettings(settings);
    try {
      await c.startServer();
    } catch (e) {
      await c.destroy();
      throw e;
    }
    return c;
  }

  private writeSettings(settings: Record<string, string | number | boolean>): void {
    const lines = Object.entries(settings).map(([k, v]) =>
      `${k} = ${typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : typeof v === 'boolean' ? (v ? 'on' : 'off') : v}`,
    );
    appendFileSync(join(this.dataDir, 'postgresql.conf'), '\n# pgshift embedded\n' + lines.join('\n') + '\n');
  }

  /** Add settings to postgresql.conf; takes effect on the next restart (or reload for reloadable ones). */
  addSettings(settings: Record<string, string | number | boolean>): void {
    this.writeSettings(settings);
  }

  async startServer(): Promise<void> {
    await runAsync(this.bins, this.runAs, 'pg_ctl', ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', 'start'], this.dir);
    this.stopped = false;
  }

  /** Stop the server; mode "immediate" simulates a crash. */
  async stopServer(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (this.stopped) return;
    await runAsync(this.bins, this.runAs, 'pg_ctl', ['-D', this.dataDir, '-m', mode, '-w', '-t', '60', 'stop'], this.dir);
    this.stopped = true;
  }

  async restart(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.stopServer(mode);
    await this.startServer();
  }

  async reload(): Promise<void> {
    await this.sql('SELECT pg_reload_conf()');
  }

  get running(): boolean {
    return !this.stopped;
  }

  killSync(): void {
    const pid = readPid(join(this.dataDir, 'postmaster.pid'));
    if (pid && pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGQUIT');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    unregisterResource(this);
  }

  async destroy(): Promise<void> {
    try {
      await this.stopServer('immediate');
    } catch {
      // fall through to the hard kill
    }
    this.killSync();
  }

  /** libpq parameters to reach this cluster over TCP (password separate); verify-full against the CA when TLS-only. */
  params(database = 'postgres', user = this.superuser): ConnParams {
    const params: ConnParams = { host: this.host, port: String(this.port), user, dbname: database };
    if (this.tls) Object.assign(params, { sslmode: 'verify-full', sslrootcert: this.tls.caFile });
    return params;
  }

  /** key=value connection string, without password. */
  conninfo(database = 'postgres', user = this.superuser): string {
    return formatConninfo(this.params(database, user));
  }

  /** postgres:// URI with the password, for tools that want one. */
  uri(database = 'postgres', user = this.superuser, password = this.password): string {
    const tls = this.tls ? `?sslmode=verify-full&sslrootcert=${encodeURIComponent(this.tls.caFile)}` : '';
    return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${encodeURIComponent(database)}${tls}`;
  }

  async client(database = 'postgres', user = this.superuser, password = this.password): Promise<pg.Client> {
    const ssl = this.tls ? { ca: readFileSync(this.tls.caFile, 'utf8') } : undefined;
    const c = new pg.Client({ host: this.host, port: this.port, user, password, database, application_name: 'pgshift-harness', ssl });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  }

  /** Run one statement as the superuser; returns the rows. */
  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const c = await this.client(database);
    try {
      return (await c.query<T>(text, params)).rows;
    } finally {
      await c.end();
    }
  }

  async systemIdentifier(): Promise<string> {
    const [r] = await this.sql<{ s: string }>('SELECT system_identifier::text AS s FROM pg_control_system()');
    return r!.s;
  }

  async createDatabase(name: string): Promise<void> {
    await this.sql(`CREATE DATABASE ${quoteIdent(name)}`);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.sql(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  }

  /** An EndpointConfig for this cluster, as pgshift's config loader would produce it. */
  async endpoint(): Promise<EndpointConfig> {
    return { conn: this.params(), password: this.password, systemIdentifier: await this.systemIdentifier() };
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}

/** Start several clusters at once (initdb templates are shared, starts run in parallel). */
export async function startClusters(majors: number[], opts: Omit<ClusterOptions, 'major'> = {}): Promise<EmbeddedCluster[]> {
  const results = await Promise.allSettled(
    majors.map((major, i) => EmbeddedCluster.start({ ...opts, major, fresh: opts.fresh || majors.indexOf(major) !== i })),
  );
  const ok = results.filter((r): r is PromiseFulfilledResult<EmbeddedCluster> => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((c) => c.destroy()));
    throw failed.reason;
  }
  return ok;
}
