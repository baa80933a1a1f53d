// The regression corpus: PostgreSQL 15's own regression database, built by
// running PostgreSQL 15's regression suite (pg_regress from the postgresql-15
// package, the suite's files from Debian's postgresql-15 source package, put
// in place by scripts/install-test-deps.sh) against an embedded PostgreSQL 15.
// pg_upgrade's own tests upgrade exactly this database: nearly every kind of
// object, written by people who are not us.
//
// Built once per run: the first test file to ask builds it and keeps the
// stopped data directory; the others copy it (corpusCluster). Without the
// suite's regress.so, some 20 of its 217 tests fail; the database is still
// the one the rest of the suite leaves. On a loaded machine more of them fail
// (their plans and timings differ), with the same objects left behind.

import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedCluster, embeddedBaseDir, type ClusterOptions } from '../../src/embedded/cluster.js';
import { findBinaries, runAsUser } from '../../src/embedded/binaries.js';
import { waitFor } from '../../src/util/wait.js';

const execFileP = promisify(execFile);

export const CORPUS_MAJOR = 15;
export const CORPUS_DATABASE = 'regression';

/** Where scripts/ci/fetch-regress-suite.sh puts the suite's files. */
export function regressSuiteDir(): string {
  return process.env.PGSHIFT_REGRESS_DIR ?? join(homedir(), '.cache', 'pgshift', `regress-${CORPUS_MAJOR}`);
}

function pgRegress(): string {
  const bins = findBinaries(CORPUS_MAJOR);
  // The postgresql-15 package keeps pg_regress in its PGXS tree.
  const path = join(dirname(bins.bin), 'lib', 'pgxs', 'src', 'test', 'regress', 'pg_regress');
  if (!existsSync(path)) {
    throw new Error(`pg_regress not found at ${path}: the corpus needs the system postgresql-15 package (run scripts/install-test-deps.sh as root)`);
  }
  return path;
}

/**
 * The stopped data directory of a PostgreSQL 15 cluster holding the
 * `regression` database; built on first use (a lock directory keeps two test
 * files from building it at once).
 */
export async function regressionCorpusDataDir(): Promise<string> {
  const suite = regressSuiteDir();
  if (!existsSync(join(suite, 'parallel_schedule'))) {
    throw new Error(`PostgreSQL ${CORPUS_MAJOR}'s regression suite is not at ${suite}: run scripts/install-test-deps.sh as root (or set PGSHIFT_REGRESS_DIR)`);
  }
  const runAs = runAsUser();
  const base = embeddedBaseDir();
  mkdirSync(base, { recursive: true });
  const done = join(base, `corpus-regression-pg${CORPUS_MAJOR}-${runAs?.uid ?? process.getuid?.() ?? 0}`);
  if (existsSync(join(done, 'PG_VERSION'))) return done;
  const lock = `${done}.lock`;
  const locked = (): boolean => {
    try {
      mkdirSync(lock);
      return true;
    } catch {
      return false;
    }
  };
  if (!locked()) {
    // Another process builds it; a lock older than the build could take is a dead builder's.
    await waitFor(async () => {
      if (existsSync(join(done, 'PG_VERSION'))) return true;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
      return false;
    }, { timeoutMs: 16 * 60_000, intervalMs: 500, what: 'the regression corpus another test file is building' });
    if (existsSync(join(done, 'PG_VERSION'))) return done;
    if (!locked()) throw new Error('could not take the regression corpus lock');
  }
  try {
    await buildCorpus(suite, done);
    return done;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

async function buildCorpus(suite: string, dest: string): Promise<void> {
  const runAs = runAsUser();
  const cluster = await EmbeddedCluster.start({ major: CORPUS_MAJOR, name: 'corpus-build' });
  const out = mkdtempSync(join(embeddedBaseDir(), 'corpus-out-'));
  try {
    // The server writes some results (COPY TO, tablespaces) into the output directory.
    if (runAs) chownSync(out, runAs.uid, runAs.gid);
    const bin = findBinaries(CORPUS_MAJOR).bin;
    try {
      await execFileP(pgRegress(), [
        `--host=${cluster.host}`, `--port=${cluster.port}`, `--user=${cluster.superuser}`,
        `--inputdir=${suite}`, `--outputdir=${out}`, `--bindir=${bin}`, `--dlpath=${join(dirname(bin), 'lib')}`,
        `--schedule=${join(suite, 'parallel_schedule')}`, '--max-connections=8', `--dbname=${CORPUS_DATABASE}`,
      ], { env: { ...process.env, PGPASSWORD: cluster.password }, maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
      // pg_regress exits 1 when any test's output differs (expected here, see the header);
      // anything else (it could not connect, no database) is a broken build.
      const summary = existsSync(join(out, 'regression.out')) ? readFileSync(join(out, 'regression.out'), 'utf8') : '';
      const failed = (summary.match(/FAILED/g) ?? []).length;
      if ((e as { code?: number }).code !== 1 || failed > 120) {
        throw new Error(`pg_regress could not build the corpus (${failed} tests failed): ${(e as Error).message}\n${summary.slice(-2000)}`, { cause: e });
      }
    }
    const [{ n }] = await cluster.sql<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema')",
      [], CORPUS_DATABASE) as [{ n: string }];
    if (Number(n) < 300) throw new Error(`the regression database has only ${n} tables; pg_regress did not build it`);
    await cluster.stopServer('fast');
    const staging = `${dest}.staging-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    await execFileP('cp', ['-a', cluster.dataDir, staging]);
    renameSync(staging, dest);
  } finally {
    await cluster.destroy();
    rmSync(out, { recursive: true, force: true });
  }
}

/** A running PostgreSQL 15 cluster holding its own copy of the corpus. */
export async function corpusCluster(opts: Omit<ClusterOptions, 'major' | 'dataFrom'> = {}): Promise<EmbeddedCluster> {
  return EmbeddedCluster.start({ ...opts, major: CORPUS_MAJOR, dataFrom: await regressionCorpusDataDir(), name: opts.name ?? 'corpus' });
}
