/**
 * The kernel's decisions on time go through its clock (KernelClock.overLimit), numbered per check:
 * that is what lets a replay give the recorded outcome whatever its own time says.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, CLOCK_TICK_MS, DeviceRegisters, Dpc, VerifierViolation, realClock, type KernelClock, type TimeCheck } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

/** A clock that says `check` is over its limit by `ms` at call `at`, and counts every call. */
function decidingClock(check: TimeCheck, at: number, ms: number): KernelClock & { calls: Map<TimeCheck, number> } {
  const calls = new Map<TimeCheck, number>();
  return {
    ...realClock,
    calls,
    overLimit: (c) => {
      const n = (calls.get(c) ?? 0) + 1;
      calls.set(c, n);
      return c === check && n === at ? ms : null;
    },
  };
}

describe('decisions on time, through the kernel clock', () => {
  it('a DPC that returns at once is DPC_WATCHDOG_VIOLATION when the clock says it ran past the limit (P2 from the clock)', async () => {
    const clock = decidingClock('watchdog routine', 1, 100);
    rig = makeRig({ clock, limits: { dpcTimeLimitMs: 50 } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    await kernel.insertQueueDpc(new Dpc(() => regs.read32(0).then(() => undefined), undefined, 'QuickDpc'));
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DPC_WATCHDOG_VIOLATION);
    expect(report.parameters.slice(0, 3)).toEqual([0, Math.ceil(100 / CLOCK_TICK_MS), Math.ceil(50 / CLOCK_TICK_MS)]);
    expect(report.message).toContain('QuickDpc has run for 100 ms');
  });

  it('a DPC that really runs past the limit is not stopped when the clock says it did not', async () => {
    const clock = decidingClock('watchdog routine', -1, 0);
    rig = makeRig({ clock, limits: { dpcTimeLimitMs: 20 } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    let done = false;
    await kernel.insertQueueDpc(
      new Dpc(
        async () => {
          await regs.read32(0);
          const end = performance.now() + 60;
          while (performance.now() < end) {
            // past the 20 ms limit in real time
          }
          await regs.read32(0);
          done = true;
        },
        undefined,
        'SlowDpc',
      ),
    );
    await kernel.quiesce();
    expect(done).toBe(true);
    expect(kernel.stopped).toBeNull();
    expect(clock.calls.get('watchdog routine')).toBeGreaterThan(0);
  });

  it('an ISR is over the verifier limit when the clock says so, with the clock’s duration in the finding', async () => {
    const clock = decidingClock('verifier isr', 1, 0.5);
    rig = makeRig({ clock, verifier: { isrTimeLimitUs: 100, action: 'record' } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    kernel.connectInterrupt({ line: 11, name: 'QuickIsr', isr: async () => (await regs.read32(ICR)) !== 0 });
    device.raise(0x80);
    await kernel.quiesce();
    expect(kernel.stopped).toBeNull();
    expect(kernel.verifier.findings).toEqual([expect.objectContaining({ violation: VerifierViolation.ISR_TOO_LONG, routine: 'QuickIsr', durationUs: 500, limitUs: 100 })]);
  });
});
