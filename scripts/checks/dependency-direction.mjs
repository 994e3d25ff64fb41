#!/usr/bin/env node
// Fails when the code's dependencies stop pointing one way (docs/architecture.md):
// - an import cycle between files, or between the top-level folders of src/ (modules);
// - src/ importing test/ or bench/ (runtime code must not depend on test or benchmark code);
// - src/ importing build tooling from src/model-tools (the model generator runs at build time).
import { parseDependencyTree } from 'dpdm';
import { relative, sep } from 'node:path';

const root = process.cwd();
const tree = await parseDependencyTree(['src/**/*.ts'], { context: root, tsconfig: 'tsconfig.json', transform: true });
const rel = (p) => relative(root, p).split(sep).join('/');
const isSpec = (f) => /\.spec\.ts$|\/testing\//.test(f);
const moduleOf = (f) => {
  const parts = f.split('/');
  return parts.length > 2 ? parts[1] : '(root)';
};
// Folders that build models or run from the command line; the server may not import them.
const TOOLING = new Set(['model-tools']);

const problems = [];
const fileEdges = new Map();
const moduleEdges = new Map(); // "a -> b" => first file pair seen
for (const [issuer, deps] of Object.entries(tree)) {
  const from = rel(issuer);
  if (!from.startsWith('src/') || !deps) continue;
  for (const d of deps) {
    if (!d.id) continue;
    const to = rel(d.id);
    if (to.startsWith('node_modules/')) continue;
    if (/^(test|bench)\//.test(to)) problems.push(`${from} imports ${to} (src/ must not depend on test/ or bench/)`);
    if (!to.startsWith('src/')) continue;
    if (!fileEdges.has(from)) fileEdges.set(from, new Set());
    fileEdges.get(from).add(to);
    const [a, b] = [moduleOf(from), moduleOf(to)];
    if (isSpec(from) || a === b) continue;
    if (TOOLING.has(b) && !TOOLING.has(a)) problems.push(`${from} imports build tooling ${to}`);
    const key = `${a} -> ${b}`;
    if (!moduleEdges.has(key)) moduleEdges.set(key, `${from} -> ${to}`);
  }
}

/** Strongly connected components with more than one node (Tarjan). */
function cycles(edges) {
  let index = 0;
  const idx = new Map(),
    low = new Map(),
    stack = [],
    on = new Set(),
    out = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

for (const scc of cycles(fileEdges)) problems.push(`import cycle between files: ${scc.join(', ')}`);
const modGraph = new Map();
for (const key of moduleEdges.keys()) {
  const [a, b] = key.split(' -> ');
  if (!modGraph.has(a)) modGraph.set(a, new Set());
  modGraph.get(a).add(b);
}
for (const scc of cycles(modGraph)) {
  const inside = [...moduleEdges.entries()].filter(([k]) => k.split(' -> ').every((m) => scc.includes(m)));
  problems.push(
    `modules depend on each other: ${scc.join(', ')}\n${inside.map(([k, v]) => `    ${k}   (e.g. ${v})`).join('\n')}`,
  );
}

if (problems.length) {
  console.error(`dependency check failed:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(
  `dependency check: ${fileEdges.size} files, ${modGraph.size} modules, no cycles, src/ independent of test/ and bench/`,
);
