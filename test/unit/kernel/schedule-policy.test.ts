import { afterEach, describe, expect, it } from 'vitest';
import { DELIVER_LATER, DELIVER_NOW, DeviceRegisters, MAX_DEFERRALS, type DecisionKind, type SchedulePolicy } from '../../../src/kernel/index.ts';
import { FakeInterruptDevice, ICR, IMS } from '../../support/fake-interrupt-device.ts';
import { kernelOnFakeLines, type KernelOnFakeLines } from '../../support/kernel-rig.ts';

class Recording implements SchedulePolicy {
  readonly decisions: [DecisionKind, number][] = [];
  constructor(private readonly choice: (kind: DecisionKind, n: number) => number) {}
  decide(kind: DecisionKind, labels: readonly string[]): number {
    const c = this.choice(kind, labels.length);
    this.decisions.push([kind, c]);
    return c;
  }
}

let rig: KernelOnFakeLines | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

/** A PASSIVE routine makes the device raise a cause, then passes `points` register reads; returns the read index at which the ISR had run. */
async function isrRunsAfterRead(policy: SchedulePolicy | undefined, points: number): Promise<number> {
  await rig?.cleanup();
  rig = kernelOnFakeLines('dirql-policy-', policy ? { schedule: policy } : {});
  const { kernel, lines } = rig;
  const device = new FakeInterruptDevice(lines, { line: 9, mask: 0 });
  const regs = new DeviceRegisters(kernel, device, { name: 'dev' });
  let isrRuns = 0;
  kernel.connectInterrupt({ line: 9, irql: 5, isr: async () => ((await regs.read32(ICR)) !== 0 ? (isrRuns++, true) : false) });
  let seenAt = -1;
  await kernel.runAtPassive('Routine', async () => {
    await regs.write32(IMS, 1);
    device.raise(1);
    for (let i = 0; i < points; i++) {
      await regs.read32(0x8);
      if (isrRuns > 0 && seenAt < 0) seenAt = i;
    }
  });
  await kernel.quiesce();
  expect(isrRuns).toBe(1);
  return seenAt;
}

describe('SchedulePolicy: the kernel asks where a pending interrupt is delivered', () => {
  it('without a policy the interrupt is taken at the first preemption point', async () => {
    expect(await isrRunsAfterRead(undefined, 4)).toBe(0);
  });

  it('a policy that says "now" is asked once and gives the same schedule', async () => {
    const p = new Recording(() => DELIVER_NOW);
    expect(await isrRunsAfterRead(p, 4)).toBe(0);
    expect(p.decisions).toEqual([['deliver', DELIVER_NOW]]);
  });

  it('"later" leaves the interrupt pending until a later preemption point', async () => {
    let asked = 0;
    const p = new Recording((kind) => (kind === 'deliver' && asked++ < 3 ? DELIVER_LATER : DELIVER_NOW));
    // Two points per read (before and after the access): taken after read 1.
    expect(await isrRunsAfterRead(p, 6)).toBe(1);
    expect(p.decisions.map(([, c]) => c)).toEqual([DELIVER_LATER, DELIVER_LATER, DELIVER_LATER, DELIVER_NOW]);
  });

  it(`always "later" is overruled after ${MAX_DEFERRALS} points in a row, and an interrupt left pending runs once the routine ends`, async () => {
    const p = new Recording(() => DELIVER_LATER);
    expect(await isrRunsAfterRead(p, MAX_DEFERRALS)).toBe(MAX_DEFERRALS / 2);
    expect(p.decisions).toHaveLength(MAX_DEFERRALS);
    const q = new Recording(() => DELIVER_LATER);
    expect(await isrRunsAfterRead(q, 3)).toBe(-1);
  });
});
