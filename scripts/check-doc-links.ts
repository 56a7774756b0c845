/**
 * Every relative link in a *.md file must resolve inside the repository: `[text](path)` relative to
 * the file, and code-quoted repository paths (`src/...`, `test/...`, ...) relative to the root.
 * Prints each broken one as file:line and exits 1 if there is any.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const SKIP = new Set(['node_modules', '.git', 'bench/results', 'crash-reports', 'captures', '.dirql']);
const TOP = ['src', 'test', 'harness', 'qemu', 'bench', 'scripts', 'docs', '.ci'];

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (SKIP.has(relative(ROOT, path))) continue;
    if (e.isDirectory()) out.push(...markdownFiles(path));
    else if (e.name.endsWith('.md')) out.push(path);
  }
  return out;
}

/** A repository path as prose quotes it: `src/kernel/kernel.ts`, `harness/`, not `src/*.ts` or `<time>`. */
function quotedRepoPath(text: string): string | undefined {
  if (!/^[\w.\-/]+$/.test(text)) return undefined;
  const top = text.split('/')[0]!;
  return TOP.includes(top) && text.includes('/') ? text : undefined;
}

function check(file: string): string[] {
  const broken: string[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  let fenced = false;
  lines.forEach((line, i) => {
    if (line.trimStart().startsWith('```')) fenced = !fenced;
    if (fenced) return;
    const where = `${relative(ROOT, file)}:${i + 1}`;
    const targets: { target: string; base: string }[] = [];
    for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
      targets.push({ target: target.split('#')[0]!, base: dirname(file) });
    }
    for (const m of line.matchAll(/`([^`]+)`/g)) {
      const path = quotedRepoPath(m[1]!);
      if (path) targets.push({ target: path, base: ROOT });
    }
    for (const { target, base } of targets) {
      const abs = resolve(base, target);
      if (abs !== ROOT && !abs.startsWith(ROOT + sep)) broken.push(`${where}: ${target} points outside the repository`);
      else if (!existsSync(abs)) broken.push(`${where}: ${target} does not exist`);
    }
  });
  return broken;
}

const files = markdownFiles(ROOT);
const broken = files.flatMap(check);
if (broken.length > 0) {
  console.error(`${broken.length} broken reference(s) in *.md:\n${broken.map((b) => `  ${b}`).join('\n')}`);
  process.exit(1);
}
console.log(`doc references: ${files.length} *.md files, all relative links and quoted paths resolve`);
