/**
 * The driver's time readings (KeQueryInterruptTime, KeQuerySystemTime, KeQueryTickCount,
 * KeQueryPerformanceCounter, and NDIS's calls on them): each is one reading of the kernel clock, in
 * Windows' units, and the non-precise ones move once per clock tick as on Windows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOCK_TICK_MS, Dpc, Irql, PERFORMANCE_FREQUENCY, TIME_INCREMENT, realClock, type KernelClock } from '../../../src/kernel/index.ts';
import { Ndis5 } from '../../../src/ndis/ndis5/index.ts';
import { Ndis6 } from '../../../src/ndis/ndis6/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

/** A clock whose readings are `readings`, in order (then the last again), counting them. */
function readingClock(readings: number[], bootMs = 0): KernelClock & { reads: number } {
  const clock = {
    ...realClock,
    bootMs,
    reads: 0,
    read: () => readings[Math.min(clock.reads++, readings.length - 1)]!,
  };
  return clock;
}

/** 1601-01-01 to 1970-01-01 in 100-ns units. */
const EPOCH_1601 = 116_444_736_000_000_000n;

describe('time readings through the kernel clock', () => {
  it('KeQueryInterruptTime moves once a clock tick, KeQueryInterruptTimePrecise does not wait for it (100-ns units since boot)', () => {
    const clock = readingClock([1000.3, 1000.3, 1010]);
    rig = makeRig({ clock });
    const k = rig.kernel;
    // 1000.3 ms is 64 ticks of 15.625 ms (1000 ms) and 0.3 ms.
    expect(k.queryInterruptTime()).toBe(10_000_000n);
    expect(k.queryInterruptTimePrecise()).toBe(10_003_000n);
    // 1010 ms is still in the 65th tick: a short interval timed with the non-precise call is 0.
    expect(k.queryInterruptTime()).toBe(10_000_000n);
    expect(clock.reads).toBe(3);
  });

  it('KeQuerySystemTime counts 100-ns units from 1601-01-01 UTC: the boot time plus the reading', () => {
    const bootMs = Date.UTC(2026, 11, 6, 12, 0, 0);
    rig = makeRig({ clock: readingClock([2 * CLOCK_TICK_MS + 1.5], bootMs) });
    const k = rig.kernel;
    const expected = EPOCH_1601 + BigInt(bootMs) * 10_000n;
    expect(k.querySystemTime()).toBe(expected + BigInt(2 * TIME_INCREMENT));
    expect(k.querySystemTimePrecise()).toBe(expected + BigInt(2 * TIME_INCREMENT) + 15_000n);
    // Back to a date: 1601 to 1970 is 11644473600 s.
    expect(new Date(Number(k.querySystemTimePrecise() / 10_000n - 11_644_473_600_000n)).toISOString()).toBe('2026-12-06T12:00:00.032Z');
  });

  it('KeQueryTickCount, KeQueryTimeIncrement and KeQueryPerformanceCounter in their units', () => {
    rig = makeRig({ clock: readingClock([100 * CLOCK_TICK_MS + 3, 2.5]) });
    const k = rig.kernel;
    expect(k.queryTimeIncrement()).toBe(156_250);
    expect(k.queryTickCount()).toBe(100n);
    const { counter, frequency } = k.queryPerformanceCounter();
    expect(frequency).toBe(PERFORMANCE_FREQUENCY);
    expect(frequency).toBe(10_000_000n);
    // 2.5 ms at 10 MHz.
    expect(counter).toBe(25_000n);
  });

  it('the readings may be made at any IRQL: in a DPC at DISPATCH_LEVEL they are the same calls', async () => {
    const clock = readingClock([50]);
    rig = makeRig({ clock });
    const k = rig.kernel;
    const seen: [number, bigint][] = [];
    await k.runAtPassive('r', () => k.insertQueueDpc(new Dpc(() => void seen.push([k.currentIrql(), k.queryInterruptTimePrecise()]), undefined, 'TimeDpc')));
    await k.idle();
    expect(seen).toEqual([[Irql.DISPATCH_LEVEL, 500_000n]]);
  });

  it('on the real clock readings go forward, and system time is today', () => {
    rig = makeRig();
    const k = rig.kernel;
    const a = k.queryInterruptTimePrecise();
    const b = k.queryInterruptTimePrecise();
    expect(b).toBeGreaterThanOrEqual(a);
    const nowMs = Number(k.querySystemTimePrecise() / 10_000n - 11_644_473_600_000n);
    expect(Math.abs(nowMs - Date.now())).toBeLessThan(60_000);
  });
});

describe("NDIS's time calls", () => {
  it('NdisGetCurrentSystemTime is KeQuerySystemTime; NdisGetSystemUpTimeEx (NDIS 6) and NdisGetSystemUpTime (NDIS 5) are milliseconds since boot', () => {
    const bootMs = Date.UTC(2026, 0, 1);
    rig = makeRig({ clock: readingClock([64 * CLOCK_TICK_MS + 7], bootMs) });
    const ndis6 = new Ndis6(rig.kernel);
    const ndis5 = new Ndis5(rig.kernel);
    expect(ndis6.getCurrentSystemTime()).toBe(EPOCH_1601 + BigInt(bootMs + 1000) * 10_000n);
    expect(ndis5.getCurrentSystemTime()).toBe(EPOCH_1601 + BigInt(bootMs + 1000) * 10_000n);
    expect(ndis6.getSystemUpTimeEx()).toBe(1000n);
    expect(ndis5.getSystemUpTime()).toBe(1000);
  });

  it("NdisGetSystemUpTime is a ULONG: it wraps after 2^32 ms (49.7 days), NdisGetSystemUpTimeEx's LARGE_INTEGER does not", () => {
    // The first tick at or past 2^32 ms: 274877907 ticks are 4294967296.875 ms.
    const ms = 274_877_907 * CLOCK_TICK_MS + 3;
    rig = makeRig({ clock: readingClock([ms]) });
    expect(new Ndis5(rig.kernel).getSystemUpTime()).toBe(0);
    expect(new Ndis6(rig.kernel).getSystemUpTimeEx()).toBe(BigInt(2 ** 32));
  });
});
