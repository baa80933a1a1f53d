// House rule: no SQL built from strings. Every ${...} inside a template
// literal that looks like SQL must be an identifier or literal passed through
// the quoting helpers, or a fragment named *Sql built the same way. A line
// may opt out with a comment saying why: `// sql-lint: safe (...)`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SQL = /\b(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|CREATE|ALTER|DROP|GRANT|REVOKE|TRUNCATE|COPY|COMMENT\s+ON|SET\s+\w+|WHERE|FROM)\b/;
const ALLOWED = /^\s*(quoteIdent|qualify|quoteLiteral|quoteIdentList|qi|ql)\s*\(|^\s*[A-Za-z_.]*(Sql|SQL)\s*(\(|$)|^\s*\w+\.map\(\s*\(?\w*\)?\s*=>\s*(quoteIdent|qualify)/;

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

let problems = 0;
for (const file of files('src')) {
  if (file.endsWith('quote.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const re = /`((?:[^`\\]|\\.)*)`/gs;
  let m;
  while ((m = re.exec(text))) {
    const body = m[1];
    if (!SQL.test(body) || !body.includes('${')) continue;
    const start = text.slice(0, m.index).split('\n').length;
    const lines = text.split('\n');
    const blockEnd = start + body.split('\n').length;
    const optOut = lines.slice(Math.max(0, start - 2), blockEnd).some((l) => l.includes('sql-lint: safe'));
    if (optOut) continue;
    // Only the expressions at the top level of this template.
    const exprs = [];
    let depth = 0;
    let cur = '';
    for (let i = 0; i < body.length; i++) {
      if (depth === 0 && body[i] === '$' && body[i + 1] === '{') { depth = 1; i++; cur = ''; continue; }
      if (depth > 0) {
        if (body[i] === '{') depth++;
        if (body[i] === '}') { depth--; if (depth === 0) { exprs.push(cur); continue; } }
        cur += body[i];
      }
    }
    for (const e of exprs) {
      if (!ALLOWED.test(e)) {
        console.error(`${file}:${start}: SQL built with \${${e.trim().slice(0, 60)}}: quote it with quoteIdent/qualify/quoteLiteral, bind it as a parameter, or mark the line "sql-lint: safe (why)"`);
        problems++;
      }
    }
  }
}
if (problems) {
  console.error(`lint-sql: ${problems} problem(s)`);
  process.exit(1);
}
