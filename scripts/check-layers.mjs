// The layers of src/ and the one rule between them: imports point down.
// Run by `npm run lint` (so by `npm test`); prints each import that points up
// or sideways into a cycle, and exits 1. README's "Architecture" draws the same
// picture; change both together.
//
// A layer is a list of folders (or top-level files) of src/. A module may
// import its own folder, any folder of its own layer that does not import it
// back (no folder cycles), and any lower layer. Type-only imports count: a
// type from an upper layer is still a dependency on it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const LAYERS = [
  ['index.ts', 'cli', 'demo'],                                   // entry points: the library API, the CLI, the demo
  ['steps'],                                                     // one module per step and the pipeline that runs them
  ['switchover', 'initial-copy', 'status', 'verify', 'load', 'report', 'metrics'], // what the steps are made of
  ['checks'],                                                    // readiness and health rules
  ['replication', 'journal', 'embedded'],                        // publications, subscriptions, slots, identities; the journal; local clusters
  ['pg'],                                                        // connections, quoting, SQL files, version gates, client tools
  ['config'],                                                    // pgshift.yml and libpq connection resolution
  ['errors.ts', 'events.ts', 'problems.ts', 'util'],             // plain types and helpers every layer uses
];

const root = resolve(process.argv[2] ?? '.', 'src');
const layerOf = new Map(LAYERS.flatMap((folders, i) => folders.map((f) => [f, i])));
const walk = (d) => readdirSync(d).flatMap((f) => {
  const p = join(d, f);
  return statSync(p).isDirectory() ? walk(p) : /\.ts$/.test(f) ? [p] : [];
});
const unitOf = (file) => relative(root, file).split('/')[0];
const problems = [];
const edges = new Map(); // folder -> Set(folder), for cycles within a layer
const fileEdges = new Map();
for (const file of walk(root)) {
  const from = unitOf(file);
  if (!layerOf.has(from)) problems.push(`${relative(root, file)}: src/${from} is in no layer of scripts/check-layers.mjs`);
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), m[1].replace(/\.js$/, '.ts'));
    if (!fileEdges.has(file)) fileEdges.set(file, new Set());
    fileEdges.get(file).add(target);
    const to = unitOf(target);
    if (to === from) continue;
    const a = layerOf.get(from);
    const b = layerOf.get(to);
    if (b === undefined) continue; // reported for its own files
    if (b < a) problems.push(`${relative(root, file)} imports ${relative(root, target)}: src/${to} is in a higher layer than src/${from}`);
    if (b === a) {
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from).add(to);
    }
  }
}
// Folder cycles within a layer.
for (const [a, tos] of edges) for (const b of tos) if (edges.get(b)?.has(a) && a < b) problems.push(`src/${a} and src/${b} import each other`);
// File cycles anywhere (depth-first search, each cycle reported once by its smallest member).
const state = new Map();
const stack = [];
const seen = new Set();
function visit(f) {
  state.set(f, 1);
  stack.push(f);
  for (const t of fileEdges.get(f) ?? []) {
    if (state.get(t) === 1) {
      const cycle = stack.slice(stack.indexOf(t)).map((x) => relative(root, x));
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) { seen.add(key); problems.push(`import cycle: ${cycle.join(' -> ')} -> ${cycle[0]}`); }
    } else if (!state.has(t)) visit(t);
  }
  stack.pop();
  state.set(f, 2);
}
for (const f of fileEdges.keys()) if (!state.has(f)) visit(f);

if (problems.length > 0) {
  console.error(`layers: ${problems.length} import(s) break the layering of src/ (scripts/check-layers.mjs):`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`layers: ${fileEdges.size} modules, imports point down`);
