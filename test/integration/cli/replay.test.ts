/**
 * `dirql run --record FILE` on real QEMU, then `dirql replay FILE` without it: the replay prints
 * REPLAY on every line, reaches the recorded counters and exits 0; a file that is not a whole
 * recording is exit 2 with its error.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirql } from '../../support/dirql-cli.ts';

const fixture = (name: string) => join(import.meta.dirname, 'fixtures', name);
const dir = mkdtempSync(join(tmpdir(), 'dirql-cli-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dirql run --record, then dirql replay (REPLAY, no QEMU)', () => {
  const file = join(dir, 'link-up.rec');

  it('run --record writes the recording and names it', async () => {
    const r = await dirql(['run', fixture('link-up.scenario.ts'), '--record', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain(`recording ${file} (replay it without QEMU: dirql replay ${file})`);
  });

  it('replay prints the outcome and the counters, labelled REPLAY, and exits 0', async () => {
    const r = await dirql(['replay', file]);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPLAY \(no QEMU\) of .*: SAME — (\d+) of \1 events in \d+ ms/);
    for (const l of lines) expect(l).toMatch(/^REPLAY/);
    expect(r.stdout).toMatch(/^REPLAY counters: +\{"frameworkSide":/m);
    const json = await dirql(['replay', file, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ replay: true, outcome: 'same', finished: true });
  });

  it('a truncated or corrupt file is exit 2 with its error', async () => {
    const whole = readFileSync(file);
    const cut = join(dir, 'cut.rec');
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const truncated = await dirql(['replay', cut]);
    expect(truncated.exitCode).toBe(2);
    expect(truncated.stderr).toMatch(/^dirql replay: .*cut off/m);
    const bad = join(dir, 'bad.rec');
    writeFileSync(bad, 'not a recording');
    const corrupt = await dirql(['replay', bad]);
    expect(corrupt.exitCode).toBe(2);
    expect(corrupt.stderr).toContain('not a dirql recording');
  });
});
