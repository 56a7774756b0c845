import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCycles, findCycles, findLayerViolations, listSources, runtimeSpecifiers } from '../../../scripts/check-cycles.ts';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

describe('check-cycles', () => {
  it('finds the runtime cycle in the fixture, through an inline `type` specifier, and nothing else', () => {
    const { files, cycles } = checkCycles(repo, ['test/fixtures/import-cycles']);
    expect(files).toBe(6);
    expect(cycles).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts'].map((f) => `test/fixtures/import-cycles/${f}`)]);
  });

  it('counts what survives verbatimModuleSyntax, not what is erased or loaded lazily', () => {
    const text = [
      "import type { A } from './erased-import.ts';",
      "export type { B } from './erased-export.ts';",
      "import { type C } from './inline-type.ts';",
      "import './side-effect.ts';",
      "export { D } from './reexport.ts';",
      "export * from './star.ts';",
      "const lazy = () => import('./dynamic.ts');",
      "type T = import('./type-position.ts').T;",
    ].join('\n');
    expect(runtimeSpecifiers('x.ts', text)).toEqual(['./inline-type.ts', './side-effect.ts', './reexport.ts', './star.ts']);
  });

  it('reports a module that imports itself, and one cycle per strongly connected component', () => {
    const graph = new Map([
      ['self', ['self']],
      ['p', ['q']],
      ['q', ['r', 'p']],
      ['r', ['p']],
      ['leaf', []],
    ]);
    expect(findCycles(graph)).toEqual(
      expect.arrayContaining([
        ['self', 'self'],
        ['p', 'q', 'p'],
      ]),
    );
    expect(findCycles(graph)).toHaveLength(2);
  });

  it('reports src/ importing the harness (even as a type), and not the harness importing src/', () => {
    const root = mkdtempSync(join(tmpdir(), 'dirql-layers-'));
    try {
      for (const d of ['src/host', 'harness']) mkdirSync(join(root, d), { recursive: true });
      writeFileSync(join(root, 'src/host/control.ts'), "import type { Gen } from '../../harness/traffic.ts';\nexport const x: Gen | 1 = 1;\n");
      writeFileSync(join(root, 'src/host/ok.ts'), 'export const ok = 1;\n');
      writeFileSync(join(root, 'harness/traffic.ts'), "import { ok } from '../src/host/ok.ts';\nexport type Gen = typeof ok;\n");
      const files = listSources([join(root, 'src'), join(root, 'harness')]);
      expect(findLayerViolations(root, files)).toEqual(['src/host/control.ts -> harness/traffic.ts']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
