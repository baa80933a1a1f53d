// Hostile identifiers through the whole flow (14 -> 17): check, roles,
// schema, start, wait, verify, switchover with the revoke fence, cleanup,
// for two databases whose names are themselves hostile. Every schema,
// table, column, role (owner and grantee), sequence, index, constraint and
// enum type (labels too) is named from HOSTILE_NAMES or worse. Both
// clusters log every statement; afterwards:
//  - canary tables named x (public and every hostile schema, every
//    database, both clusters) are all still there with their rows;
//  - no logged statement, with its quoted identifiers, literals and
//    comments blanked out, holds "DROP TABLE x" or ";--", every DROP is one
//    pgshift means, and no statement anyone ran was a syntax error;
//  - the target's data and catalog (names, owners, grants) equal the source's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Pair, runCli, versionPairs, HOSTILE_NAMES, qi, tableRows } from '../helpers/harness.js';
import type { EmbeddedCluster } from '../../src/embedded/cluster.js';
import { quoteLiteral } from '../../src/pg/quote.js';
import { schemaDefinitions } from '../helpers/schema-catalog.js';
import { LOG_EVERYTHING, injectionIn, logEntries, loggedStatements, unquoted } from './server-log.js';

const [[FROM, TO]] = versionPairs([[14, 17]]) as [[number, number]];

/** Pad to exactly 63 bytes (NAMEDATALEN - 1) with z. */
function bytes63(s: string): string {
  let out = s;
  while (Buffer.byteLength(out) < 63) out += 'z';
  assert.equal(Buffer.byteLength(out), 63);
  return out;
}

const DATABASES = ['a";DROP TABLE x;--', bytes63(`ü "q" it's;DROP TABLE x;-- .\\ 表`)];
const ROLES = ['a";DROP TABLE x;--', "it's; DROP TABLE x;--", 'ünïcødé 表 owner', 'with "double" quotes', bytes63('role ')];
const ENUM = `mood "e"; DROP TABLE x;--`;
const SEQ = `seq'; DROP TABLE x;--`;
const INDEX = `idx "i" ü;--`;
const UNIQUE = `uniq 'c';DROP TABLE x;--`;
const PK = 'pk.dot "p"';
const LABELS = ["it's", 'a"b', 'ü;--', 'DROP TABLE x'];
const ROWS = 120;

/** The table of schema i: named after the next hostile name (never plain "x"). */
function tableOf(i: number): string {
  return HOSTILE_NAMES[(i + 1) % HOSTILE_NAMES.length]!;
}

let pair: Pair;
let config: string;

function fixtureSql(): string[] {
  const out: string[] = ['CREATE TABLE public.x (id int PRIMARY KEY, v text)', "INSERT INTO public.x VALUES (1, 'canary'), (2, 'canary')"];
  HOSTILE_NAMES.forEach((s, i) => {
    const owner = ROLES[i % ROLES.length]!;
    const grantee = ROLES[(i + 1) % ROLES.length]!;
    const t = `${qi(s)}.${qi(tableOf(i))}`;
    const cols = HOSTILE_NAMES.map((c) => `${qi(c)} text`).join(', ');
    out.push(
      `CREATE SCHEMA ${qi(s)} AUTHORIZATION ${qi(owner)}`,
      `CREATE TYPE ${qi(s)}.${qi(ENUM)} AS ENUM (${LABELS.map(quoteLiteral).join(', ')})`,
      `CREATE SEQUENCE ${qi(s)}.${qi(SEQ)} START 1000`,
      `CREATE TABLE ${t} (id int CONSTRAINT ${qi(PK)} PRIMARY KEY, ${cols}, m ${qi(s)}.${qi(ENUM)}, n bigint DEFAULT nextval(${quoteLiteral(`${qi(s)}.${qi(SEQ)}`)}::regclass))`,
      `CREATE INDEX ${qi(INDEX)} ON ${t} (${qi(HOSTILE_NAMES[2]!)})`,
      `ALTER TABLE ${t} ADD CONSTRAINT ${qi(UNIQUE)} UNIQUE (${qi(HOSTILE_NAMES[3]!)})`,
      `ALTER TABLE ${t} OWNER TO ${qi(owner)}`,
      `ALTER SEQUENCE ${qi(s)}.${qi(SEQ)} OWNER TO ${qi(owner)}`,
      `GRANT SELECT, INSERT ON ${t} TO ${qi(grantee)}`,
      `GRANT USAGE ON SCHEMA ${qi(s)} TO ${qi(grantee)}`,
      `INSERT INTO ${t} (id, ${HOSTILE_NAMES.map(qi).join(', ')}, m)
         SELECT g, ${HOSTILE_NAMES.map((c, k) => `${quoteLiteral(`${c} ${k}; DROP TABLE x;--`)} || g`).join(', ')},
                (ARRAY[${LABELS.map(quoteLiteral).join(', ')}])[1 + g % ${LABELS.length}]::${qi(s)}.${qi(ENUM)}
           FROM generate_series(1, ${ROWS}) g`,
      `CREATE TABLE ${qi(s)}.x (id int PRIMARY KEY)`,
      `INSERT INTO ${qi(s)}.x SELECT generate_series(1, 3)`,
    );
  });
  return out;
}

before(async () => {
  pair = await Pair.start(FROM, TO, { settings: LOG_EVERYTHING });
  for (const r of ROLES) await pair.source.sql(`CREATE ROLE ${qi(r)} NOLOGIN`);
  for (const c of [pair.source, pair.target]) {
    await c.sql('CREATE TABLE public.x (id int PRIMARY KEY)');
    await c.sql('INSERT INTO public.x VALUES (1), (2), (3)');
  }
  for (const db of DATABASES) {
    await pair.source.createDatabase(db);
    for (const r of ROLES) await pair.source.sql(`GRANT CONNECT ON DATABASE ${qi(db)} TO ${qi(r)}`);
    for (const s of fixtureSql()) await pair.source.sql(s, [], db);
  }
  config = await pair.writeConfig(DATABASES, 'switchover:\n  pause: revoke\n  max_pause: 10s\n');
});
after(async () => {
  await pair?.stop();
});

async function cli(args: string[], expect = 0): Promise<string> {
  const r = await runCli(['-c', config, '--yes', ...args], { env: pair.env(), timeoutMs: 150_000 });
  assert.equal(r.code, expect, `pgshift ${args.join(' ')}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function canaries(c: EmbeddedCluster, db: string, schemas: string[]): Promise<void> {
  for (const s of schemas) {
    const rows = await c.sql<{ n: number }>(`SELECT count(*)::int AS n FROM ${qi(s)}.x`, [], db);
    assert.ok(rows[0]!.n >= 2, `canary ${s}.x in ${db} lost its rows`);
  }
}

/** Owners and grants of every user schema, relation and type, and the hostile roles. */
async function ownership(c: EmbeddedCluster, db: string): Promise<string[]> {
  const rows = await c.sql<{ d: string }>(`
    SELECT 'schema ' || quote_ident(nspname) || ' owner ' || quote_ident(pg_get_userbyid(nspowner)) || ' acl ' || coalesce(nspacl::text, '-') AS d
      FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname NOT IN ('information_schema', 'public')
    UNION ALL
    SELECT 'rel ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' owner ' || quote_ident(pg_get_userbyid(c.relowner)) || ' acl '
           -- 17 gives owners MAINTAIN as well: compare the privileges both versions have.
           || coalesce((SELECT string_agg(quote_ident(pg_get_userbyid(a.grantee)) || ':' || a.privilege_type || ' by ' || quote_ident(pg_get_userbyid(a.grantor)), ', ' ORDER BY 1)
                          FROM aclexplode(c.relacl) a WHERE a.privilege_type <> 'MAINTAIN'), '-')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'
    UNION ALL
    SELECT 'type ' || t.oid::regtype::text || ' owner ' || quote_ident(pg_get_userbyid(t.typowner))
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype = 'e'
    UNION ALL
    SELECT 'role ' || quote_ident(rolname) FROM pg_roles WHERE rolname = ANY($1::text[])
    ORDER BY 1`, [ROLES], db);
  return rows.map((r) => r.d);
}

test(`hostile names ${FROM}->${TO}: check, roles, schema, start, wait, verify, switchover (revoke), cleanup`, async () => {
  await cli(['check', ...DATABASES]);
  await cli(['roles']);
  for (const db of DATABASES) {
    await cli(['schema', db]);
    await cli(['start', db]);
  }
  for (const db of DATABASES) {
    await cli(['wait', db, '--timeout', '120s']);
    // A change while streaming, through the hostile names.
    const t = `${qi(HOSTILE_NAMES[0]!)}.${qi(tableOf(0))}`;
    await pair.source.sql(`UPDATE ${t} SET ${qi(HOSTILE_NAMES[4]!)} = 'changed' WHERE id <= 5`, [], db);
    await pair.source.sql(`DELETE FROM ${t} WHERE id = 6`, [], db);
    await cli(['verify', db, '--mode', 'full']);
    const sw = JSON.parse(await cli(['--json', 'switchover', db])) as { outcome: string };
    assert.equal(sw.outcome, 'done');
    await cli(['cleanup', db]);
  }

  // Canaries on both clusters, every database, every schema.
  const schemas = ['public', ...HOSTILE_NAMES];
  for (const c of [pair.source, pair.target]) {
    await canaries(c, 'postgres', ['public']);
    for (const db of DATABASES) await canaries(c, db, schemas);
  }

  // Data and names identical.
  for (const db of DATABASES) {
    for (let i = 0; i < HOSTILE_NAMES.length; i++) {
      const s = HOSTILE_NAMES[i]!;
      for (const t of [tableOf(i), 'x']) {
        assert.deepEqual(await tableRows(pair.target, db, s, t), await tableRows(pair.source, db, s, t), `${db}: ${s}.${t}`);
      }
    }
    assert.deepEqual(await tableRows(pair.target, db, 'public', 'x'), await tableRows(pair.source, db, 'public', 'x'));
    const [src, tgt] = await Promise.all([schemaDefinitions(pair.source, db), schemaDefinitions(pair.target, db)]);
    assert.ok(src.some((d) => d.includes(qi(INDEX))) && src.some((d) => d.includes(qi(UNIQUE))) && src.some((d) => d.includes(qi(ENUM))));
    assert.deepEqual(tgt, src, `${db}: definitions differ`);
    assert.deepEqual(await ownership(pair.target, db), await ownership(pair.source, db), `${db}: owners or grants differ`);
    const seq = `${qi(HOSTILE_NAMES[1]!)}.${qi(SEQ)}`;
    const [a, b] = await Promise.all([pair.source, pair.target].map((c) => c.sql<{ v: string }>(`SELECT last_value::text AS v FROM ${seq}`, [], db)));
    assert.deepEqual(b, a, 'sequence state carried');
  }

  // The server logs: nothing unintended ran.
  for (const [side, c] of [['source', pair.source], ['target', pair.target]] as const) {
    const entries = logEntries(c.log());
    const statements = loggedStatements(entries);
    assert.ok(statements.length > 200, `${side}: log_statement = all recorded ${statements.length} statements`);
    assert.ok(statements.some((s) => s.sql.includes(qi(DATABASES[0]!)) || s.sql.includes(quoteLiteral(DATABASES[0]!))), `${side}: the hostile names are in the log`);
    const injected = statements.map((s) => ({ ...s, why: injectionIn(s.sql) })).filter((s) => s.why);
    assert.deepEqual(injected, [], `${side}: statements with injected SQL`);
    const drops = statements.filter((s) => /\bDROP\b/i.test(unquoted(s.sql)));
    const meant = /^\s*(DROP (SUBSCRIPTION|PUBLICATION) IDENT|ALTER PUBLICATION IDENT DROP TABLE( IDENT\.IDENT,?\s*)+|DROP TABLE (IF EXISTS )?(pg_temp|pgshift)\.\w+|DROP SCHEMA (IF EXISTS )?pgshift( CASCADE)?)\s*;?\s*$/i;
    const unexpected = drops.filter((s) => !meant.test(unquoted(s.sql).replace(/\s+/g, ' ')));
    assert.deepEqual(unexpected, [], `${side}: DROP statements pgshift did not mean`);
    assert.ok(drops.length > 0, `${side}: cleanup's DROPs were logged and audited`);
    const syntax = entries.filter((e) => e.sqlstate === '42601' || /syntax error/i.test(e.text));
    assert.deepEqual(syntax, [], `${side}: syntax errors`);
  }
});
