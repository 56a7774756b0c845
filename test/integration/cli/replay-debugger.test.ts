/**
 * REPLAY under the inspector (the .vscode/launch.json "dirql replay (launch)" path): a breakpoint
 * with a hit count on the e1000 NDIS 6 driver's per-frame receive line stops, in each of two
 * replays of one recording (made on real QEMU), on the same frame: same place in its batch, same
 * length, same bytes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'fixtures', 'replay-breakpoint.ts');
const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-debugger-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dirql replay under a debugger', () => {
  it('a hit-count breakpoint on the 1,500th received frame stops on the same frame in every replay', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', script, dir], { timeout: 120_000, reject: false, env: { DIRQL_LOG: 'silent' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { results: { outcome: string; hits: number }[]; pauses: string[] };
    expect(out.results).toEqual([expect.objectContaining({ outcome: 'same', hits: 2_000 }), expect.objectContaining({ outcome: 'same', hits: 2_000 })]);
    expect(out.pauses).toHaveLength(2);
    expect(out.pauses[0]).not.toMatch(/^error/);
    expect(JSON.parse(out.pauses[0]!)).toMatchObject({ len: expect.any(Number), sum: expect.any(Number) });
    expect(out.pauses[1]).toBe(out.pauses[0]);
  });
});
