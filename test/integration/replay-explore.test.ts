/**
 * An explore run's recording replays without QEMU (issue 14: every failure a file that replays
 * offline). A broken sample explored on QEMU's real e1000 with `record: true` fails; its recording
 * (`<stem>.rec`) is replayed by `replay()`: the scenario its header names runs again with the
 * recorded seed and schedule on the replay machine and reaches the same failure and bug check, and
 * two replays of it report the same. A scenario that gives its kernel `kernelOptions.clock` has its
 * time decisions recorded and replayed too (the DPC watchdog).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explore, loadExploreScenario } from '../../src/explore/index.ts';
import { RecordKind, readRecording } from '../../src/record/format.ts';
import { replay, type ReplayResult } from '../../src/record/replay.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-explore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A replay's result without what measures the machine (its duration and speed). */
function outcomeOf(r: ReplayResult): Omit<ReplayResult, 'replayMs' | 'speedup'> {
  const { replayMs: _ms, speedup: _speedup, ...rest } = r;
  return rest;
}

async function recordFailing(spec: string, out: string, opts: { strategy?: 'pb' | 'random'; runs: number }) {
  const scenario = await loadExploreScenario(spec);
  const r = await explore(scenario, { ...opts, outDir: out, record: true, writeFailures: 1 });
  expect(r.failures.length).toBeGreaterThan(0);
  const failure = r.failures[0]!;
  expect(failure.recording).toBeDefined();
  return { failure, file: failure.recording! };
}

describe('dirql replay of an explore recording (recorded on real QEMU, replayed without it)', () => {
  it('sample 1 (IMS read-modify-written without the interrupt lock) replays to the recorded 0xC4 lockset bug check, twice alike', async () => {
    const spec = 'test/integration/fixtures/explore-qemu-samples.ts#sample1Qemu';
    const { failure, file } = await recordFailing(spec, join(dir, 'sample1'), { runs: 1 });
    const rec = readRecording(file);
    expect(rec.header.config.explore).toMatchObject({ seed: failure.seed, source: `${resolve(spec.split('#')[0]!)}#sample1Qemu` });
    expect(rec.trailer.bugCheckReport?.code).toBe(0xc4);

    const first = await replay(file);
    expect(first.divergence).toBeUndefined();
    expect(first.outcome).toBe('same');
    expect(first.finished).toBe(true);
    expect(first.sameDriver).toBe(true);
    expect(first.counters).toEqual(rec.trailer.counters);
    expect(first.counters).toEqual({ failed: failure.message });
    expect(first.bugCheck).toEqual(rec.trailer.bugCheckReport);
    expect(first.explore).toMatchObject({ seed: failure.seed, decisions: failure.decisions });

    const second = await replay(file);
    expect(outcomeOf(second)).toEqual(outcomeOf(first));
  });

  it.each([
    ['sample3Qemu', 'C4', 'a lock id in P3: numbered per kernel', 0xc4],
    ['sample4Qemu', '133', "the DPC watchdog: its clock is the run's", 0x133],
  ])('%s replays to the recorded bug check 0x%s (%s)', async (name, _hex, _why, code) => {
    const { file } = await recordFailing(`test/integration/fixtures/explore-qemu-samples.ts#${name}`, join(dir, name), { runs: 1 });
    const rec = readRecording(file);
    expect(rec.trailer.bugCheckReport?.code).toBe(code);
    const r = await replay(file);
    expect(r.divergence).toBeUndefined();
    expect(r.outcome).toBe('same');
    expect(r.bugCheck).toEqual(rec.trailer.bugCheckReport);
  });

  it('the race (check for a TX slot, take it in another synchronize call), found by pb, replays to its TX ring overflow', async () => {
    const { failure, file } = await recordFailing('test/integration/fixtures/explore-qemu-samples.ts#raceQemu', join(dir, 'race'), { strategy: 'pb', runs: 20 });
    expect(failure.message).toContain('TX ring overflow');
    const first = await replay(file);
    expect(first.divergence).toBeUndefined();
    expect(first.outcome).toBe('same');
    expect(first.counters).toEqual({ failed: failure.message });
    expect(first.bugCheck?.name).toBe('SYSTEM_THREAD_EXCEPTION_NOT_HANDLED');
    expect(first.bugCheck).toEqual(readRecording(file).trailer.bugCheckReport);
    const second = await replay(file);
    expect(outcomeOf(second)).toEqual(outcomeOf(first));
  });

  it("an ISR storm whose kernel runs on the explorer's clock replays to the recorded DPC watchdog (its time decision from the recording)", async () => {
    const spec = 'test/integration/fixtures/explore-qemu-samples.ts#stormOnExploreClock';
    const { failure, file } = await recordFailing(spec, join(dir, 'storm'), { runs: 1 });
    expect(failure.message).toContain('DPC_WATCHDOG_VIOLATION');
    const rec = readRecording(file);
    // The watchdog's ticks and its exceeded limit are in the recording (kinds 10 and 5).
    expect(rec.events.some((e) => e[0] === RecordKind.Time)).toBe(true);
    expect(rec.events.some((e) => e[0] === RecordKind.TimerExpired)).toBe(true);
    const first = await replay(file);
    expect(first.divergence).toBeUndefined();
    expect(first.outcome).toBe('same');
    expect(first.bugCheck).toEqual(rec.trailer.bugCheckReport);
    expect(first.bugCheck?.code).toBe(0x133);
    const second = await replay(file);
    expect(outcomeOf(second)).toEqual(outcomeOf(first));
  });
});
