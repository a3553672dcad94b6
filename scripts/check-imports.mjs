#!/usr/bin/env node
// The import-direction check (run by scripts/test): reads every import of src/ — static, type-only,
// `export … from`, dynamic `import()` and `import('…')` types — and fails on
//   - an import cycle between files (any kind of import counts);
//   - an edge against the layer order below (a folder imports only from earlier tiers, or itself);
//   - a package used outside the folders allowed to use it.
// Each offending edge is printed as file:line. Usage: node scripts/check-imports.mjs [src dir]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** Tiers, first to last: a folder may import from its own folder and from earlier tiers only. */
const TIERS = [
  ['core'],
  ['process', 'kiwi', 'sftp'],
  ['boot'],
  ['state', 'graph'],
  ['config'],
  ['fingerprint'],
  ['boxes'],
  ['executors'],
  ['cache'],
  ['scheduler'],
  ['watch'],
  ['reporters'],
  ['cli', 'compat'],
];
/** Packages only some folders may import. */
const PACKAGES = { execa: ['process'] };

const root = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), '..', 'src'));
const tierOf = new Map(TIERS.flatMap((folders, i) => folders.map((f) => [f, i])));

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every import of `file`: { spec, line, kind }. */
function importsOf(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found = [];
  const add = (literal, kind) =>
    found.push({
      spec: literal.text,
      kind,
      line: sf.getLineAndCharacterOfPosition(literal.getStart(sf)).line + 1,
    });
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly : node.isTypeOnly;
      add(node.moduleSpecifier, typeOnly ? 'type' : 'static');
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0], 'dynamic');
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, 'type');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const folderOf = (file) => relative(root, file).split('/')[0];
const files = sourceFiles(root);
const problems = [];
/** file → [{ target, where }] for the cycle search. */
const graph = new Map(files.map((f) => [f, []]));

for (const file of files) {
  const from = folderOf(file);
  for (const { spec, line, kind } of importsOf(file)) {
    const where = `${relative(process.cwd(), file)}:${line}`;
    if (!spec.startsWith('.')) {
      const allowed = PACKAGES[spec];
      if (allowed && !allowed.includes(from))
        problems.push(`${where}: '${spec}' is for ${allowed.join(', ')}/ only (${kind} import)`);
      continue;
    }
    const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
    if (!graph.has(target)) {
      problems.push(`${where}: '${spec}' is not a source file`);
      continue;
    }
    graph.get(file).push({ target, where, kind });
    const to = folderOf(target);
    if (to === from) continue;
    const [a, b] = [tierOf.get(from), tierOf.get(to)];
    if (a === undefined || b === undefined) {
      problems.push(
        `${where}: folder ${a === undefined ? from : to}/ has no tier in scripts/check-imports.mjs`,
      );
    } else if (b >= a) {
      problems.push(
        `${where}: ${from}/ must not import ${relative(root, target)} (${to}/ is not an earlier layer; ${kind} import)`,
      );
    }
  }
}

/** The shortest loop through the first (sorted) file of a component, as edges; none for a lone file. */
function shortestCycle(members) {
  const start = [...members].sort()[0];
  const via = new Map();
  const queue = [start];
  while (queue.length) {
    const file = queue.shift();
    for (const edge of graph.get(file)) {
      if (!members.has(edge.target)) continue;
      if (edge.target === start) {
        const path = [edge];
        for (let at = file; at !== start; at = via.get(at).from) path.unshift(via.get(at).edge);
        return path;
      }
      if (!via.has(edge.target)) {
        via.set(edge.target, { from: file, edge });
        queue.push(edge.target);
      }
    }
  }
  return undefined;
}

// Tarjan's strongly connected components: every component with an edge inside is a cycle.
let index = 0;
const stack = [];
const meta = new Map();
function strong(v) {
  const m = { index, low: index, onStack: true };
  index++;
  meta.set(v, m);
  stack.push(v);
  for (const { target } of graph.get(v)) {
    const t = meta.get(target);
    if (!t) {
      strong(target);
      m.low = Math.min(m.low, meta.get(target).low);
    } else if (t.onStack) m.low = Math.min(m.low, t.index);
  }
  if (m.low === m.index) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      meta.get(w).onStack = false;
      component.push(w);
    } while (w !== v);
    const members = new Set(component);
    const cycle = shortestCycle(members);
    if (cycle) {
      problems.push(
        `import cycle (${component.length} file(s) involved), one loop:\n${cycle
          .map((e) => `    ${e.where} -> ${relative(process.cwd(), e.target)} (${e.kind})`)
          .join('\n')}`,
      );
    }
  }
}
for (const file of files) if (!meta.has(file)) strong(file);

if (problems.length) {
  for (const p of problems) console.error(`check-imports: ${p}`);
  console.error(`check-imports: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`check-imports: ${files.length} files, no cycles, every import follows the layers`);
