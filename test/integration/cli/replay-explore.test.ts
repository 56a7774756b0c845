/**
 * `dirql replay` of an explore run's recording, from the command line: `dirql explore --record` on
 * QEMU's real e1000 keeps the failing run's recording, and `dirql replay FILE` in another process
 * (no QEMU) runs its scenario again, reaches the recorded failure and says REPLAY in every line.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dirql } from '../../support/dirql-cli.ts';

const samples = join(import.meta.dirname, '..', 'fixtures', 'explore-qemu-samples.ts');
const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-explore-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dirql replay of a dirql explore --record recording (real QEMU, then none)', () => {
  it("replays the race's failing run to the recorded failure, exit 0, twice alike", async () => {
    // On QEMU a failure's recorded re-runs can all pass under load (the explorer then keeps no
    // recording and says so): a few explores, each in its own folder, until one is kept.
    let file: string | undefined;
    const said: string[] = [];
    for (let attempt = 1; attempt <= 3 && file === undefined; attempt++) {
      const out = join(dir, 'race', String(attempt));
      const explored = await dirql(['explore', `${samples}#raceQemu`, '--strategy', 'pb', '--runs', '20', '--record', '--out', out]);
      expect(explored.exitCode, explored.stderr).toBe(1);
      said.push(explored.stdout + explored.stderr);
      const recs = readdirSync(out).filter((f) => f.endsWith('.rec'));
      if (recs.length > 0) file = join(out, recs.sort()[0]!);
    }
    if (file === undefined) throw new Error(`no recording kept in 3 explores:\n${said.join('\n')}`);

    const first = await dirql(['replay', file]);
    expect(first.exitCode, first.stderr + first.stdout).toBe(0);
    const lines = first.stdout.trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(/^REPLAY/);
    expect(lines[0]).toContain(`REPLAY (no QEMU) of ${file}: SAME`);
    expect(first.stdout).toContain(`REPLAY explore run: "race on QEMU's e1000: check for a TX slot and take it in two synchronize calls", pb seed`);
    expect(first.stdout).toContain('TX ring overflow');

    // The same module named relative to the repo: the same scenario, the same identity.
    const named = await dirql(['replay', file, '--scenario', 'test/integration/fixtures/explore-qemu-samples.ts#raceQemu']);
    expect(named.exitCode, named.stdout).toBe(0);
    expect(named.stdout).not.toContain('not the one recorded');

    const json = async () => {
      const r = await dirql(['replay', file, '--json']);
      expect(r.exitCode).toBe(0);
      const { replayMs: _ms, speedup: _speedup, ...rest } = JSON.parse(r.stdout) as Record<string, unknown>;
      return rest;
    };
    expect(await json()).toEqual(await json());
  });
});
