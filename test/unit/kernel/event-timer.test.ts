import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Dpc, Irql, KernelEvent, KernelTimer, VerifierViolation } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';
import { timersDueBy, waitUntil } from '../../support/wait.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('kernel events', () => {
  it('a DPC setting a notification event releases a thread waiting on it', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const done = new KernelEvent(kernel, 'notification', false, 'ResetDone');
    const dpc = new Dpc(() => {
      done.set();
    });
    const result = await kernel.runAtPassive('MiniportReset', async () => {
      await kernel.insertQueueDpc(dpc);
      return done.wait(1000);
    });
    expect(result).toBe(true);
    expect(done.signaled).toBe(true);
  });

  it('a wait times out with false', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const e = new KernelEvent(kernel);
    expect(await kernel.runAtPassive('r', () => e.wait(5))).toBe(false);
  });

  it('a synchronization event releases one waiter and resets itself', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const e = new KernelEvent(kernel, 'synchronization');
    const released: string[] = [];
    const a = kernel.runAtPassive('A', async () => {
      if (await e.wait(50)) released.push('A');
    });
    const b = kernel.runAtPassive('B', async () => {
      if (await e.wait(50)) released.push('B');
    });
    await kernel.runAtPassive('Setter', async () => {
      await kernel.delayExecution(5);
      e.set();
    });
    await Promise.all([a, b]);
    expect(released).toHaveLength(1);
    expect(e.signaled).toBe(false);
  });

  it("waiting with a non-zero timeout at DISPATCH_LEVEL is Driver Verifier's 0xC4/0x3B; polling with zero is allowed", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const e = new KernelEvent(kernel);
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        const polled = await e.wait(0);
        expect(polled).toBe(false);
        await e.wait(10);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.WAIT_AT_DISPATCH_OR_ABOVE, Irql.DISPATCH_LEVEL, 0, 0] });
  });
});

describe('kernel timers', () => {
  it('an expiring timer queues its DPC, which runs at DISPATCH_LEVEL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const seen: number[] = [];
    const fired = new KernelEvent(kernel);
    const timer = new KernelTimer(kernel, 'CheckForHang');
    timer.set(
      5,
      0,
      new Dpc(() => {
        seen.push(kernel.currentIrql());
        fired.set();
      }),
    );
    await fired.wait();
    expect(seen).toEqual([Irql.DISPATCH_LEVEL]);
    expect(timer.isSet).toBe(false);
  });

  it("the DPC runs on the processor that set the timer, whatever runs when it expires; a DPC's target processor comes first", async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    const ran: Record<string, number> = {};
    const done = new KernelEvent(kernel, 'notification');
    const dpcOf = (name: string) =>
      new Dpc(() => {
        ran[name] = kernel.currentProcessor();
        if (Object.keys(ran).length === 3) done.set();
      });
    const fromOne = new KernelTimer(kernel, 'SetOnOne');
    const fromHost = new KernelTimer(kernel, 'SetByHostCode');
    const targeted = new KernelTimer(kernel, 'Targeted');
    const toZero = dpcOf('targeted');
    toZero.targetProcessor = 0;
    await kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'ArmOnOne', () => {
      fromOne.set(2, 0, dpcOf('fromOne'));
      targeted.set(2, 0, toZero);
    });
    fromHost.set(2, 0, dpcOf('fromHost'));
    // Processor 0 is busy at PASSIVE_LEVEL when they expire: the DPCs still go where they were set.
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Busy', () => done.wait(1000));
    expect(ran).toEqual({ fromOne: 1, fromHost: 0, targeted: 0 });
  });

  it('a periodic timer fires until cancelled; cancel returns whether it was set', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let runs = 0;
    const timer = new KernelTimer(kernel);
    expect(
      timer.set(
        1,
        2,
        new Dpc(() => {
          runs++;
        }),
      ),
    ).toBe(false);
    await waitUntil('three periodic runs', () => runs > 2);
    expect(timer.cancel()).toBe(true);
    // KeCancelTimer does not dequeue a DPC the timer already queued: let it finish first.
    await kernel.quiesce();
    const after = runs;
    // Past the next period: a timer still armed would have expired and its DPC run by then.
    await timersDueBy(2);
    await kernel.quiesce();
    expect(after).toBeGreaterThan(2);
    expect(runs).toBe(after);
    expect(timer.cancel()).toBe(false);
  });

  it('a bug check cancels timers', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let runs = 0;
    const timer = new KernelTimer(kernel);
    timer.set(
      10,
      0,
      new Dpc(() => {
        runs++;
      }),
    );
    await kernel.runAtPassive('Crash', () => kernel.bugCheck(BugCheckCode.WDF_VIOLATION)).catch(() => undefined);
    expect(timer.isSet).toBe(false);
    await timersDueBy(10);
    expect(runs).toBe(0);
  });
});
