/**
 * check-cycles — finds runtime import cycles among the project's modules.
 *
 *   npm run check:cycles                  # src, harness, qemu, scripts, bench
 *   node --import tsx scripts/check-cycles.ts <dir>...
 *
 * An ES module cycle is a real hazard: whichever module of the cycle loads first sees the others'
 * bindings uninitialised ("Cannot access 'X' before initialization"). Under verbatimModuleSyntax
 * only whole-declaration `import type` / `export type` are erased; `import { type X } from` still
 * loads the module at run time, so it is an edge here. Dynamic `import()` is lazy and `import('…')`
 * in a type position is erased: neither is an edge.
 *
 * It also checks the one layering rule a cycle check cannot see: nothing under src/ imports the
 * test harness, the benchmarks or the scripts (they sit on top of src/, never under it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SOURCE = /\.(ts|mts|js|mjs)$/;

/** Every source file under `dirs` (no node_modules, no declaration files). */
export function listSources(dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(resolve(path));
    }
  };
  for (const d of dirs) if (existsSync(d) && statSync(d).isDirectory()) walk(d);
  return out.sort();
}

/** The specifiers a module loads when it is evaluated (static imports and re-exports that survive). */
export function runtimeSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false);
  const specs: string[] = [];
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      if (statement.importClause?.isTypeOnly) continue;
      if (ts.isStringLiteral(statement.moduleSpecifier)) specs.push(statement.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(statement)) {
      if (statement.isTypeOnly || !statement.moduleSpecifier) continue;
      if (ts.isStringLiteral(statement.moduleSpecifier)) specs.push(statement.moduleSpecifier.text);
    }
  }
  return specs;
}

/** A relative specifier as the file it names, or undefined for packages and files outside the set. */
function resolveSpecifier(from: string, spec: string, known: ReadonlySet<string>): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => known.has(c));
}

export type ImportGraph = Map<string, string[]>;

export function buildGraph(files: readonly string[]): ImportGraph {
  const known = new Set(files);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const targets = runtimeSpecifiers(file, readFileSync(file, 'utf8'))
      .map((s) => resolveSpecifier(file, s, known))
      .filter((t): t is string => t !== undefined);
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/**
 * One cycle (as a path that ends where it starts) per strongly connected component of more than
 * one module, or of one module that imports itself (Tarjan's algorithm, iterative).
 */
export function findCycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];

  for (const root of graph.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const to = edges[frame.next++]!;
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ node: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(to)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let n: string;
        do {
          n = stack.pop()!;
          onStack.delete(n);
          component.push(n);
        } while (n !== frame.node);
        if (component.length > 1 || (graph.get(n) ?? []).includes(n)) components.push(component);
      }
    }
  }
  return components.map((c) => cycleWithin(graph, new Set(c)));
}

/** A shortest cycle through the component's first module (sorted), by breadth-first search. */
function cycleWithin(graph: ImportGraph, members: ReadonlySet<string>): string[] {
  const start = [...members].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const to of graph.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path = [start];
        for (let n = node; n !== start; n = previous.get(n)!) path.push(n);
        path.push(start);
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!previous.has(to)) {
        previous.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** Folders src/ must not import from, at run time or as types. */
export const ABOVE_SRC = ['harness', 'bench', 'scripts', 'test'];

/** Imports from src/ into a layer above it, as "from -> to" (root-relative). */
export function findLayerViolations(root: string, files: readonly string[]): string[] {
  const src = resolve(root, 'src') + '/';
  const above = ABOVE_SRC.map((d) => resolve(root, d) + '/');
  const out: string[] = [];
  for (const file of files) {
    if (!file.startsWith(src)) continue;
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    for (const statement of source.statements) {
      const spec =
        (ts.isImportDeclaration(statement) || ts.isExportDeclaration(statement)) && statement.moduleSpecifier && ts.isStringLiteral(statement.moduleSpecifier)
          ? statement.moduleSpecifier.text
          : undefined;
      if (!spec?.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (above.some((a) => target.startsWith(a))) out.push(`${relative(root, file)} -> ${relative(root, target)}`);
    }
  }
  return out;
}

export const DEFAULT_DIRS = ['src', 'harness', 'qemu', 'scripts', 'bench'];

/** The runtime cycles under `dirs` (relative to `root`), each as a list of root-relative paths. */
export function checkCycles(root: string, dirs: readonly string[] = DEFAULT_DIRS): { files: number; cycles: string[][]; upward: string[] } {
  const files = listSources(dirs.map((d) => resolve(root, d)));
  const cycles = findCycles(buildGraph(files)).map((c) => c.map((f) => relative(root, f)));
  return { files: files.length, cycles, upward: findLayerViolations(root, files) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : DEFAULT_DIRS;
  const { files, cycles, upward } = checkCycles(process.cwd(), dirs);
  if (upward.length > 0) {
    console.error(`check-cycles: src/ imports from a layer above it (${ABOVE_SRC.join(', ')}):\n  ${upward.join('\n  ')}`);
    process.exitCode = 1;
  }
  if (cycles.length === 0) {
    console.log(`check-cycles: no runtime import cycle among ${files} modules (${dirs.join(', ')})`);
  } else {
    console.error(`check-cycles: ${cycles.length} runtime import cycle(s) among ${files} modules:`);
    for (const c of cycles) console.error(`  ${c.join('\n    -> ')}`);
    console.error('Use `import type` / `export type` for imports needed only as types, or move the shared piece down a layer.');
    process.exitCode = 1;
  }
}
