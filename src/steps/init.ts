// init: connect to both clusters (the one time pgshift connects without a
// known system_identifier), learn their identities and the source's user
// databases, and write a commented pgshift.yml. Passwords are never written:
// the file refers to ${PGSHIFT_SOURCE_PASSWORD} / ${PGSHIFT_TARGET_PASSWORD}.

import { existsSync, writeFileSync } from 'node:fs';
import { parseConninfo, ConninfoSyntaxError, formatConninfo, type ConnParams } from '../config/conninfo.js';
import { connect, type Db, type Side } from '../pg/connect.js';
import { SafetyError, UsageError } from '../errors.js';
import type { ServerVersion } from '../pg/version.js';
import { schemaModeline } from '../config/schema.js';

export interface InitOptions {
  source: string;
  target: string;
  output: string;
  force?: boolean;
  env?: Record<string, string | undefined>;
}

export interface InitResult {
  file: string;
  source: { systemIdentifier: string; version: string };
  target: { systemIdentifier: string; version: string };
  databases: string[];
  passwordVars: string[];
}

interface Probed {
  params: ConnParams;
  hadPassword: boolean;
  sysid: string;
  version: ServerVersion;
  databases: string[];
}

function parseArg(text: string, flag: string): ConnParams {
  try {
    return parseConninfo(text);
  } catch (e) {
    if (e instanceof ConninfoSyntaxError) throw new UsageError(`${flag}: not a valid connection string: ${e.message}`);
    throw e;
  }
}

async function probe(side: Side, text: string, env: Record<string, string | undefined>): Promise<Probed> {
  const params = parseArg(text, `--${side}`);
  const password = params.password ?? env[`PGSHIFT_${side.toUpperCase()}_PASSWORD`];
  const hadPassword = params.password !== undefined;
  const clean = { ...params };
  delete clean.password;
  let db: Db | undefined;
  try {
    db = await connect(side, { conn: clean, password, systemIdentifier: '' }, { skipIdentityCheck: true });
    const rows = await db.query<{ datname: string }>(
      "SELECT datname FROM pg_catalog.pg_database WHERE NOT datistemplate AND datallowconn AND datname <> 'postgres' ORDER BY datname",
    );
    return { params: clean, hadPassword, sysid: db.systemIdentifier, version: db.version, databases: rows.map((r) => r.datname) };
  } finally {
    await db?.close();
  }
}

const q = (s: string): string => JSON.stringify(s);

export function renderConfig(src: Probed, tgt: Probed): string {
  const dbLines = src.databases.length
    ? src.databases.map((d) => `  ${q(d)}: {}`).join('\n')
    : '  # no user databases found on the source; add them here, e.g.\n  # app: {}';
  return `${schemaModeline()}
# pgshift configuration, written by "pgshift init".
# Reference: README.md ("Config"). \${VAR} expands from the environment.

source:
  # PostgreSQL ${src.version.text}
  conn: ${q(formatConninfo(src.params))}
  password: \${PGSHIFT_SOURCE_PASSWORD}   # or leave unset and use PGPASSFILE
  # pgshift refuses to act on any cluster with another identifier.
  system_identifier: ${q(src.sysid)}
  # How the target server reaches the source (for the subscription), if not
  # the same as conn above:
  # conn_from_target: "host=old-db.internal port=5432 user=replicator"

target:
  # PostgreSQL ${tgt.version.text}
  conn: ${q(formatConninfo(tgt.params))}
  password: \${PGSHIFT_TARGET_PASSWORD}
  system_identifier: ${q(tgt.sysid)}
  # conn_from_source: "host=new-db.internal port=5432 user=replicator"

# Databases to migrate. Per database: exclude: [schema.table, schema.*]
databases:
${dbLines}

switchover:
  pause: revoke          # pgbouncer | revoke | readonly | command
  max_pause: 5s          # abort and resume the source if catch-up takes longer
  reverse: true          # replicate target -> source afterwards, for rollback
  # pgbouncer:
  #   admin: "host=127.0.0.1 port=6432 user=pgbouncer dbname=pgbouncer"
  #   config: /etc/pgbouncer/pgbouncer.ini
  # command: { pause: ./stop-writers.sh, resume: ./start-writers.sh }
`;
}

export async function initConfig(opts: InitOptions): Promise<InitResult> {
  if (existsSync(opts.output) && !opts.force) {
    throw new SafetyError('file_exists', `${opts.output} already exists`, { hint: 'Pass --force to overwrite it, or -o FILE to write elsewhere.' });
  }
  const env = opts.env ?? process.env;
  const [src, tgt] = await Promise.all([probe('source', opts.source, env), probe('target', opts.target, env)]);
  if (src.sysid === tgt.sysid) {
    throw new SafetyError('same_cluster', `source and target have the same system_identifier (${src.sysid})`, {
      hint: 'They are the same cluster, or one is a physical copy of the other. Point --target at the new cluster.',
    });
  }
  writeFileSync(opts.output, renderConfig(src, tgt), { mode: 0o600, flag: opts.force ? 'w' : 'wx' });
  return {
    file: opts.output,
    source: { systemIdentifier: src.sysid, version: src.version.text },
    target: { systemIdentifier: tgt.sysid, version: tgt.version.text },
    databases: src.databases,
    passwordVars: ['PGSHIFT_SOURCE_PASSWORD', 'PGSHIFT_TARGET_PASSWORD'],
  };
}
