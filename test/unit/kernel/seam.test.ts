import { afterEach, describe, expect, it } from 'vitest';
import { kernelInternals } from '../../../src/kernel/core.ts';
import * as kernelApi from '../../../src/kernel/index.ts';
import { Irql, KernelError, type Kernel } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

/** Plumbing the kernel's own files share through KernelCore; none of it is driver-visible. */
const PLUMBING = [
  'setIrql',
  'checkLockRecursion',
  'checkLockOwner',
  'takeLock',
  'releaseLock',
  'verifierCheck',
  'acquireInterruptLockFor',
  'dequeueDpc',
  'runIn',
  'hasWork',
  'preempt',
  'requestService',
  'irqlLowered',
  'spinUntil',
  'trackTimer',
  'checkWatchdog',
  'settleLines',
  'settleLine',
  'routineFailed',
  'lineSource',
  'deviceLossMonitor',
  'bugCheckDir',
];

describe('the kernel facade and its internal seam', () => {
  it('Kernel exposes none of the internal plumbing, and index.ts does not export the seam', () => {
    rig = makeRig();
    const exposed = PLUMBING.filter((name) => name in rig!.kernel);
    expect(exposed).toEqual([]);
    expect(Object.keys(kernelApi)).not.toContain('KernelCore');
    expect(Object.keys(kernelApi)).not.toContain('kernelInternals');
  });

  it("kernelInternals gives the kernel's own state, and its preemption point has a fast path", async () => {
    rig = makeRig({ processors: 1 });
    const { kernel } = rig;
    const core = kernelInternals(kernel);
    expect(core.processors).toBe(kernel.processors);
    expect(core.scheduler).toBe(kernel.scheduler);
    const fast = await kernel.runAtPassive('Probe', () => {
      const act = kernel.activationFor('Probe');
      return { preempt: core.preempt(act, true), lowered: core.irqlLowered(act), irql: act.irql };
    });
    expect(fast).toEqual({ preempt: undefined, lowered: undefined, irql: Irql.PASSIVE_LEVEL });
  });

  it('kernelInternals of something that is not a Kernel is a KernelError', () => {
    expect(() => kernelInternals({} as Kernel)).toThrow(KernelError);
  });
});
