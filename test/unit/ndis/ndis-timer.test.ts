import { afterEach, describe, expect, it } from 'vitest';
import { Irql } from '../../../src/kernel/index.ts';
import { BUGCODE_NDIS_DRIVER, Ndis6, NdisViolation } from '../../../src/ndis/ndis6/index.ts';
import { makeKernelRig, type KernelRig } from './fakes.ts';
import { makeNdis6Rig, type Ndis6Rig } from './ndis6-miniport.ts';
import { makeNdis5Rig, type Ndis5Rig } from './ndis5-miniport.ts';
import { timersDueBy, waitUntil } from '../../support/wait.ts';

let krig: KernelRig | undefined;
let rig6: Ndis6Rig | undefined;
let rig5: Ndis5Rig | undefined;
afterEach(async () => {
  await krig?.cleanup();
  await rig6?.cleanup();
  await rig5?.cleanup();
  krig = rig6 = rig5 = undefined;
});

describe('NDIS timers and events', () => {
  it('NdisSetTimerObject runs the timer function at DISPATCH_LEVEL after the due time, with its FunctionContext', async () => {
    krig = makeKernelRig();
    const ndis = new Ndis6(krig.kernel);
    const seen: unknown[] = [];
    const timer = ndis.allocateTimerObject(null, {
      timerFunction: function WatchdogTimer(ctx) {
        seen.push(krig!.kernel.currentIrql(), ctx);
      },
      functionContext: 'ctx',
    });
    const before = performance.now();
    expect(ndis.setTimerObject(timer, 20)).toBe(false);
    await waitUntil('the timer function to run', () => seen.length > 0);
    expect(performance.now() - before).toBeGreaterThanOrEqual(19);
    expect(seen).toEqual([Irql.DISPATCH_LEVEL, 'ctx']);
    ndis.freeTimerObject(timer);
  });

  it('a periodic timer object repeats until NdisCancelTimerObject, which reports whether it was set', async () => {
    krig = makeKernelRig();
    const ndis = new Ndis6(krig.kernel);
    let runs = 0;
    const timer = ndis.allocateTimerObject(null, {
      timerFunction: () => {
        runs++;
      },
    });
    ndis.setTimerObject(timer, 1, 3);
    await waitUntil('three periodic runs', () => runs >= 3);
    expect(ndis.cancelTimerObject(timer)).toBe(true);
    await krig.kernel.quiesce();
    const stopped = runs;
    // Past the next period: a timer object still set would have run again by then.
    await timersDueBy(3);
    await krig.kernel.quiesce();
    expect(runs).toBe(stopped);
    expect(ndis.cancelTimerObject(timer)).toBe(false);
  });

  it('a timer object left set at MiniportHaltEx is BUGCODE_NDIS_DRIVER 0x09 (HALT_WITHOUT_CANCEL_TIMER), and its function never runs after halt', async () => {
    rig6 = makeNdis6Rig();
    const { adapter } = await rig6.start();
    let runs = 0;
    await rig6.kernel.runAtPassive('Arm', () => {
      const t = rig6!.ndis.allocateTimerObject(adapter, {
        timerFunction: function LinkPollTimer() {
          runs++;
        },
      });
      rig6!.ndis.setTimerObject(t, 10);
    });
    const err = await rig6.ndis.haltMiniport(adapter).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.TIMER_LEFT_AT_HALT, adapter.id, 1, 0], report: { api: 'MiniportHaltEx' } });
    expect((err as Error).message).toContain('LinkPollTimer');
    await timersDueBy(10);
    expect(runs).toBe(0);
  });

  it('NDIS 5: NdisMSetPeriodicTimer runs the function at DISPATCH_LEVEL until NdisMCancelTimer', async () => {
    rig5 = makeNdis5Rig({ requestIsr: true });
    const { adapter } = await rig5.start();
    const irqls: number[] = [];
    const timer = rig5.ndis.initializeTimer(adapter, () => {
      irqls.push(rig5!.kernel.currentIrql());
    });
    rig5.ndis.setPeriodicTimer(timer, 2);
    await waitUntil('two periodic runs', () => irqls.length >= 2);
    expect(rig5.ndis.cancelTimer(timer)).toBe(true);
    expect(new Set(irqls)).toEqual(new Set([Irql.DISPATCH_LEVEL]));
    await rig5.kernel.quiesce();
    await rig5.ndis.haltMiniport(adapter);
  });

  it('NdisWaitEvent returns true once a DPC calls NdisSetEvent, and false after its timeout otherwise', async () => {
    krig = makeKernelRig();
    const ndis = new Ndis6(krig.kernel);
    const ev = ndis.initializeEvent('ResetDone');
    const timer = ndis.allocateTimerObject(null, { timerFunction: () => ndis.setEvent(ev) });
    const results = await krig.kernel.runAtPassive('Waiter', async () => {
      const quiet = await ndis.waitEvent(ndis.initializeEvent('Never'), 5);
      ndis.setTimerObject(timer, 2);
      const signalled = await ndis.waitEvent(ev, 0);
      return [quiet, signalled];
    });
    expect(results).toEqual([false, true]);
  });
});
