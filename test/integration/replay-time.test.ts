/**
 * REPLAY and time (src/record): a session recorded on QEMU's e1000 replays with the recorded time,
 * not its own. The DPC watchdog's decision is written with the recording (kind 5) and given back to
 * the replay at the same check, however fast the replayed driver runs; the time readings the driver
 * makes are written too (kind 12) and read back in the replay; the replay's timeline runs on replay
 * time, so two replays write the same one.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { linkDown, linkUp } from '../../harness/index.ts';
import { NIC_ID } from '../../qemu/stub-config.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import { BugCheckCode, CLOCK_TICK_MS } from '../../src/kernel/index.ts';
import { RecordKind, readRecording } from '../../src/record/format.ts';
import { replay } from '../../src/record/replay.ts';
import { waitUntil } from '../support/wait.ts';
import type { Ndis6Library } from '../../src/ndis/ndis6/index.ts';
import { minimalDriver, type MinimalDriverFaults } from './support/minimal-driver.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-time-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMIT_MS = 200;
const SPIN_MS = 500;

/** Records the minimal driver through a link change whose DPC does `faults` (armed for that DPC call). */
async function recordLinkChange(file: string, faults: Omit<MinimalDriverFaults, 'spinAt' | 'throwAt' | 'extraWriteAt'>, spin: boolean): Promise<DriverHost> {
  const armed: MinimalDriverFaults = { ...faults };
  const calls = { n: 0 };
  const host = await DriverHost.start({
    driver: minimalDriver(armed, calls),
    processors: 1,
    record: file,
    bugCheckDir: mkdtempSync(join(dir, 'crash-')),
    limits: { dpcTimeLimitMs: LIMIT_MS },
  });
  try {
    await waitUntil('link up', () => host.linkUp, 10_000);
    if (spin) armed.spinAt = calls.n + 1;
    const before = calls.n;
    await linkDown(host.machine.qmp, NIC_ID);
    if (spin) await waitUntil('the bug check', () => host.bugCheck !== undefined, 10_000);
    else await waitUntil('the link change indicated', () => calls.n > before && !host.linkUp, 10_000);
  } finally {
    await host.stop();
  }
  return host;
}

describe('REPLAY with the recorded time (no QEMU)', () => {
  it("a DPC watchdog bug check replays to the same report although the replayed DPC does not spin: the recording's decision stands", async () => {
    const file = join(dir, 'watchdog.rec');
    const host = await recordLinkChange(file, { spinMs: SPIN_MS }, true);
    const recorded = host.bugCheck!;
    expect(recorded.code).toBe(BugCheckCode.DPC_WATCHDOG_VIOLATION);
    expect(recorded.parameters[0]).toBe(0);
    expect(recorded.parameters[1]).toBeGreaterThanOrEqual(Math.ceil(SPIN_MS / CLOCK_TICK_MS));
    const decisions = readRecording(file).events.filter((e) => e[0] === RecordKind.Time);
    expect(decisions).toEqual([[RecordKind.Time, 'watchdog routine', expect.any(Number), expect.any(Number)]]);
    expect(decisions[0]![3]).toBeGreaterThanOrEqual(SPIN_MS);

    // The same driver without the spin: the DPC returns at once, the replay still stops where the recording did.
    const r = await replay(file, { driver: minimalDriver({}) });
    expect(r.divergence).toBeUndefined();
    expect(r.bugCheck).toEqual(r.recordedBugCheck);
    expect(r.bugCheck).toMatchObject({ code: recorded.code, parameters: recorded.parameters, message: recorded.message });
    expect(r.outcome).toBe('same');
  });

  it('a driver that reads the time in its DPC reads the recorded times in the replay, the same in every replay', async () => {
    const file = join(dir, 'readings.rec');
    const read = (into: bigint[][]) => (ndis: Ndis6Library) =>
      into.push([
        ndis.kernel.queryInterruptTimePrecise(),
        ndis.kernel.queryInterruptTime(),
        ndis.getSystemUpTimeEx(),
        ndis.getCurrentSystemTime(),
        ndis.kernel.queryPerformanceCounter().counter,
      ]);
    const recorded: bigint[][] = [];
    const calls = { n: 0 };
    const host = await DriverHost.start({ driver: minimalDriver({ onDpc: read(recorded) }, calls), processors: 1, record: file, bugCheckDir: mkdtempSync(join(dir, 'crash-')) });
    try {
      await waitUntil('link up', () => host.linkUp, 10_000);
      // Two link changes, two DPCs at two moments.
      await linkDown(host.machine.qmp, NIC_ID);
      await waitUntil('the link down indicated', () => !host.linkUp, 10_000);
      await linkUp(host.machine.qmp, NIC_ID);
      await waitUntil('the link up indicated', () => host.linkUp, 10_000);
    } finally {
      await host.stop();
    }
    expect(recorded.length).toBeGreaterThanOrEqual(2);
    const readings = readRecording(file).events.filter((e) => e[0] === RecordKind.TimeReading);
    expect(readings).toHaveLength(recorded.length * 5);
    // Real time: the session's DPCs ran at different moments, and in its order.
    expect(recorded.at(-1)![0]).toBeGreaterThan(recorded[0]![0]!);
    for (const name of ['first', 'second']) {
      const replayed: bigint[][] = [];
      const r = await replay(file, { driver: minimalDriver({ onDpc: read(replayed) }) });
      expect(r.outcome, name).toBe('same');
      expect(replayed, name).toEqual(recorded);
    }
  });

  it('two replays of one recording write the same timeline (Perfetto and HTML), on replay time', async () => {
    const file = join(dir, 'link.rec');
    await recordLinkChange(file, {}, false);
    const written = [];
    for (const name of ['first', 'second']) {
      const r = await replay(file, { driver: minimalDriver({}), trace: { path: join(dir, name), name: 'replay' } });
      expect(r.outcome).toBe('same');
      written.push(r.trace!);
    }
    const [a, b] = written as [NonNullable<(typeof written)[0]>, NonNullable<(typeof written)[0]>];
    const html = readFileSync(a.html, 'utf8');
    // Not an empty timeline: the driver's DPC and the interrupt lock it took are on it.
    expect(html).toContain('"interruptDpcHandler","dpc"');
    expect(html).toContain('"MiniportInterrupt interrupt spin lock","lock"');
    expect(readFileSync(b.html, 'utf8')).toBe(html);
    expect(readFileSync(b.perfetto).equals(readFileSync(a.perfetto))).toBe(true);
  });
});
