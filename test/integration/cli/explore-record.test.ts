/**
 * `dirql explore --record` against QEMU's e1000: the failing run (run again with its schedule for
 * its timeline) is recorded beside its schedule and its path printed; passing runs leave none. A
 * kernel-only scenario has nothing to record (usage error), and `dirql replay` refuses a recording
 * whose scenario drives a wire peer (exit 2: the peer's traffic is not in it).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordKind, readRecording } from '../../../src/record/format.ts';
import { dirql } from '../../support/dirql-cli.ts';

const fixture = join(import.meta.dirname, 'fixtures', 'failing-e1000.explore.ts');
const dir = mkdtempSync(join(tmpdir(), 'dirql-explore-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('dirql explore --record (real QEMU)', () => {
  it('keeps a recording of the failing run beside its schedule and prints its path', async () => {
    const out = join(dir, 'runs');
    const r = await dirql(['explore', `${fixture}#failsOnSeed2`, '--runs', '3', '--record', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(1);
    const file = join(out, 'random-seed-2.rec');
    expect(r.stderr).toContain(`  recording ${file} (`);
    expect(readdirSync(out).filter((f) => f.endsWith('.rec'))).toEqual(['random-seed-2.rec']);

    const rec = readRecording(file);
    expect(rec.header.config.explore).toEqual({
      scenario: 'e1000 on QEMU, seed 2 fails after sending',
      strategy: 'random',
      seed: 2,
      schedule: join(out, 'random-seed-2.schedule.json'),
      source: `${fixture}#failsOnSeed2`,
      decisions: (JSON.parse(readFileSync(join(out, 'random-seed-2.schedule.json'), 'utf8')) as { decisions: unknown[] }).decisions,
    });
    const kinds = new Set(rec.events.map((e) => e[0]));
    for (const k of [RecordKind.Command, RecordKind.Reply, RecordKind.Irq, RecordKind.MemoryRead]) expect(kinds).toContain(k);
    expect(rec.trailer.counters).toEqual({ failed: 'seed 2 fails after sending (a planted failure)' });

    // This scenario drives a wire peer, whose traffic an explore recording does not hold (replay-explore.test.ts replays one that does not).
    const replayed = await dirql(['replay', file]);
    expect(replayed.exitCode).toBe(2);
    expect(replayed.stderr).toContain(`the scenario "e1000 on QEMU, seed 2 fails after sending" opens the wire peer (machine.wire)`);
  });

  it('a kernel-only scenario with --record is a usage error (nothing to record; its schedule replays it)', async () => {
    const r = await dirql(['explore', 'test/fixtures/broken/scenarios.ts#race', '--runs', '1', '--record']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/option '--record': .* runs on the kernel model alone/);
  });
});
