/**
 * DIRQL_RECORD=on-failure on real QEMU: a child vitest runs a passing and a failing test that record
 * through recordOnFailure(); the failing one keeps its recording and prints its path, and that file
 * replays (REPLAY, no QEMU) to its recorded counters; the passing one leaves nothing.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { replay } from '../../src/record/replay.ts';
import { REPO } from '../support/dirql-cli.ts';
import { FAILED_RECORDINGS_DIR } from '../support/record-on-failure.ts';

const ours = (prefix: string): string[] => (existsSync(FAILED_RECORDINGS_DIR) ? readdirSync(FAILED_RECORDINGS_DIR).filter((f) => f.startsWith(prefix)) : []);

describe('DIRQL_RECORD=on-failure (real QEMU)', () => {
  it('a failing test keeps its recording and prints its path, a passing one leaves nothing; the kept file replays', async () => {
    const before = new Set(ours('on-failure-fixture-'));
    const child = await execa(
      process.execPath,
      [join(REPO, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', REPO, '--config', join(REPO, 'test/integration/fixtures/on-failure.vitest.config.ts')],
      { cwd: REPO, reject: false, timeout: 120_000, env: { DIRQL_RECORD: 'on-failure' } },
    );
    const output = child.stdout + child.stderr;
    expect(child.exitCode, output).toBe(1);
    const printed = /recording of the failed test: (\S+)/.exec(output)?.[1];
    expect(printed, output).toBeDefined();
    try {
      expect(printed).toContain('on-failure-fixture-fails-');
      expect(existsSync(printed!)).toBe(true);
      const added = ours('on-failure-fixture-').filter((f) => !before.has(f));
      expect(added).toEqual([printed!.split('/').at(-1)]);
      const r = await replay(printed!);
      expect(r.outcome).toBe('same');
    } finally {
      if (printed) rmSync(printed, { force: true });
    }
  });
});
