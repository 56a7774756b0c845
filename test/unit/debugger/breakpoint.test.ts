import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../fixtures/debugger/break-in-isr.ts', import.meta.url));

describe('a .ts breakpoint under node --import tsx (the .vscode/launch.json path)', () => {
  it('binds by file and line in the ISR through tsx source map, pauses there once, and dirql.irql() on the paused frame is the ISR DIRQL', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', script], { timeout: 30_000, reject: false, env: { DIRQL_LOG: 'silent' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { marker: number; pauses: { line: number; irql: string; routines: string }[] };
    expect(out.marker).toBeGreaterThan(0);
    expect(out.pauses).toHaveLength(1);
    expect(out.pauses[0]!.line).toBe(out.marker);
    expect(out.pauses[0]!.irql).toBe('7 (DIRQL 7) on processor 0, in FixtureIsr');
    const routines = JSON.parse(out.pauses[0]!.routines) as { processor: number; routines: { kind: string; name: string }[] }[];
    expect(routines[0]!.routines.map((x) => x.name)).toContain('FixtureIsr');
  });
});
