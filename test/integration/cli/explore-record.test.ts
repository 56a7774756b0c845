/**
 * `dirql explore --record` against QEMU's e1000: the failing run (run again with its schedule for
 * its timeline) is recorded beside its schedule and its path printed; passing runs leave none. A
 * kernel-only scenario has nothing to record (usage error). The scenarios drive a wire peer: the
 * recorder stands between QEMU and the peer (src/record/wire-tap.ts), so the frames either way are
 * in the recording and `dirql replay` plays QEMU's side of the wire to the same peer code.
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
    for (const k of [RecordKind.Command, RecordKind.Reply, RecordKind.Irq, RecordKind.MemoryRead, RecordKind.Wire]) expect(kinds).toContain(k);
    expect(rec.header.config.wire).toBe('tapped');
    // The four frames the driver sent, as the peer caught them (frame i carries i after its header).
    const sent = rec.events.filter((e) => e[0] === RecordKind.Wire) as [RecordKind.Wire, string, Uint8Array][];
    expect(sent.map(([, direction, bytes]) => [direction, bytes[14]])).toEqual([0, 1, 2, 3].map((i) => ['fromNic', i]));
    expect(rec.trailer.counters).toEqual({ failed: 'seed 2 fails after sending (a planted failure)' });
    // The decisions the recorded run took: the schedule's, or on a loaded machine a prefix of it (the replay takes these).
    const schedule = (rec.header.config.explore as { decisions: unknown[] }).decisions;
    expect(schedule.slice(0, rec.trailer.decisions?.length ?? -1)).toEqual(rec.trailer.decisions);

    const replayed = await dirql(['replay', file]);
    expect(replayed.exitCode, replayed.stdout + replayed.stderr).toBe(0);
    expect(replayed.stdout).toMatch(/^REPLAY \(no QEMU\) of .*: SAME/);
  });

  it('a scenario whose peer also sends to the driver: both directions recorded, and the replay reaches the failure', async () => {
    const out = join(dir, 'both');
    const r = await dirql(['explore', `${fixture}#bothWaysFailsOnSeed2`, '--runs', '2', '--record', '--out', out]);
    expect(r.exitCode, r.stderr).toBe(1);
    const file = join(out, 'random-seed-2.rec');
    const wire = readRecording(file).events.filter((e) => e[0] === RecordKind.Wire) as [RecordKind.Wire, string, Uint8Array][];
    expect(wire.filter(([, d]) => d === 'toNic').map(([, , bytes]) => bytes[14])).toEqual([0x40, 0x41, 0x42, 0x43]);
    expect(wire.filter(([, d]) => d === 'fromNic')).toHaveLength(4);
    const replayed = await dirql(['replay', file, '--json']);
    expect(replayed.exitCode, replayed.stdout + replayed.stderr).toBe(0);
    expect(JSON.parse(replayed.stdout)).toMatchObject({ replay: true, outcome: 'same', counters: { failed: 'seed 2 fails after receiving (a planted failure)' } });
  });

  it('a kernel-only scenario with --record is a usage error (nothing to record; its schedule replays it)', async () => {
    const r = await dirql(['explore', 'test/fixtures/broken/scenarios.ts#race', '--runs', '1', '--record']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/option '--record': .* runs on the kernel model alone/);
  });
});
