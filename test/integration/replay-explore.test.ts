/**
 * An explore run's recording replays without QEMU (issue 14: every failure a file that replays
 * offline). A broken sample explored on QEMU's real e1000 with `record: true` fails; its recording
 * (`<stem>.rec`) is replayed by `replay()`: the scenario its header names runs again with the
 * recorded seed and schedule on the replay machine and reaches the same failure and bug check, and
 * two replays of it report the same. A scenario that gives its kernel `kernelOptions.clock` has its
 * time decisions recorded and replayed too (the DPC watchdog).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

/**
 * Explores `spec` on QEMU with recording on until a failing run's recording is kept. On QEMU the
 * device's timing is not the schedule's, so under load a failure's recorded re-runs may all pass
 * and the explorer keeps none (it says so, tested below): a few explores, each in its own folder.
 */
async function recordFailing(spec: string, out: string, opts: { strategy?: 'pb' | 'random'; runs: number }) {
  const scenario = await loadExploreScenario(spec);
  const lines: string[] = [];
  for (let attempt = 1; attempt <= EXPLORES; attempt++) {
    const r = await explore(scenario, { ...opts, outDir: join(out, String(attempt)), record: true, writeFailures: 1, log: (l) => lines.push(l) });
    expect(r.failures.length).toBeGreaterThan(0);
    const failure = r.failures[0]!;
    if (failure.recording !== undefined) return { failure, file: failure.recording };
  }
  throw new Error(`${spec}: no failing run's recording kept in ${EXPLORES} explores:\n${lines.join('\n')}`);
}

const EXPLORES = 3;

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

describe('dirql explore --record keeps a recording only of a run that failed the same way', () => {
  const spec = (name: string): string => `test/integration/fixtures/explore-qemu-flaky.ts#${name}`;

  it('a failure that none of the recorded re-runs repeats leaves its schedule, no recording, and a line saying why', async () => {
    const out = join(dir, 'flaky-never');
    const lines: string[] = [];
    const r = await explore(await loadExploreScenario(spec('failsFirstRunOnly')), { runs: 1, outDir: out, record: true, writeFailures: 1, log: (l) => lines.push(l) });
    expect(r.failures).toHaveLength(1);
    const failure = r.failures[0]!;
    expect(failure.message).toBe('fails its first run only, on QEMU: failed on this run');
    expect(failure.replayed).toBe(false);
    expect(failure.recording).toBeUndefined();
    expect(existsSync(failure.schedule!)).toBe(true);
    expect(readdirSync(out).filter((f) => f.endsWith('.rec'))).toEqual([]);
    expect(lines).toContain(`seed ${failure.seed}: its recorded run did not fail the same way in 3 tries on the device (the last passed), so no recording is kept`);
  });

  // Its replay is not run here: the scenario's outcome is its run count's, not the recording's.
  it('a failure that a later re-run repeats keeps the recording of that run', async () => {
    const out = join(dir, 'flaky-odd');
    const lines: string[] = [];
    const r = await explore(await loadExploreScenario(spec('failsOddRuns')), { runs: 1, outDir: out, record: true, writeFailures: 1, log: (l) => lines.push(l) });
    const failure = r.failures[0]!;
    expect(failure.replayed).toBe(true);
    expect(failure.recording).toBeDefined();
    expect(existsSync(failure.recording!)).toBe(true);
    expect(lines.some((l) => l.includes('no recording is kept'))).toBe(false);
    expect(readRecording(failure.recording!).trailer.counters).toEqual({ failed: failure.message });
  });
});
