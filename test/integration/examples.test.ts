/**
 * The minimal examples as a user runs them: each scenario through runScenario (what `dirql run`
 * calls, and what a user's own vitest would call), on real QEMU, with the lockset verifier on.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, runScenario } from '../../src/scenario/index.ts';
import { REPO, dirql } from '../support/dirql-cli.ts';

describe('examples/: the minimal drivers pass their own scenarios', () => {
  for (const example of ['minimal-ndis6', 'minimal-kmdf']) {
    it(`${example}: MAC, link up, a link flap through its ISR and DPC`, async () => {
      const lines: string[] = [];
      const result = await runScenario(await loadScenario(join(REPO, 'examples', example, 'link.scenario.ts')), { log: (l: string) => lines.push(l) });
      expect(result.error).toBeUndefined();
      expect(result).toMatchObject({ passed: true });
      expect(result.bugCheck).toBeUndefined();
      expect(lines.join('\n')).toMatch(/link down and up again through [2-9]\d* ISRs/);
    });
  }

  it('dirql run examples/minimal-ndis6/link.scenario.ts exits 0 and says it passed', async () => {
    const r = await dirql(['run', join('examples', 'minimal-ndis6', 'link.scenario.ts')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pass/i);
  });
});
