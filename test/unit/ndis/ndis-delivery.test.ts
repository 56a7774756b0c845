import { afterEach, describe, expect, it } from 'vitest';
import { Irql, type Kernel } from '../../../src/kernel/index.ts';
import { RXT0 } from './fakes.ts';
import { makeNdis5Rig, type Ndis5Rig } from './ndis5-miniport.ts';
import { makeNdis6Rig, type Ndis6Rig } from './ndis6-miniport.ts';

// Windows takes an interrupt or DPC the instant the IRQL falls below its level: each NDIS call that
// lowers the IRQL (or queues a DPC below DISPATCH_LEVEL) returns only after the ISR and DPC ran.
// The test miniports log 'isr …' in MiniportInterrupt/MiniportISR and 'dpc …'/'handle …' in
// MiniportInterruptDPC/MiniportHandleInterrupt.

let rig6: Ndis6Rig | undefined;
let rig5: Ndis5Rig | undefined;
afterEach(async () => {
  await rig6?.cleanup();
  await rig5?.cleanup();
  rig6 = rig5 = undefined;
});

const ran = (events: string[], prefix: string) => events.filter((e) => e.startsWith(prefix)).length;
/** No ISR or DPC is running or queued on any processor: the routines did not just start, they returned. */
const settled = (kernel: Kernel) => kernel.processors.every((P) => P.nested.length === 0 && P.dpcQueue.length === 0);

describe('delivery where Windows delivers (NDIS 6)', () => {
  it('NdisReleaseSpinLock: an interrupt raised while the lock was held runs MiniportInterrupt, then MiniportInterruptDPC, before NdisReleaseSpinLock returns', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const { ndis, kernel, nic } = rig6;
    const lock = ndis.allocateSpinLock('AdapterLock');
    const seen = await kernel.runAtPassive('MiniportOidRequest', async () => {
      await ndis.acquireSpinLock(lock);
      nic.raise(RXT0);
      const underLock = [ran(ctx.events, 'isr'), ran(ctx.events, 'dpc')];
      await ndis.releaseSpinLock(lock);
      return [...underLock, ran(ctx.events, 'isr'), ran(ctx.events, 'dpc'), settled(kernel), kernel.currentIrql()];
    });
    expect(seen).toEqual([0, 0, 1, 1, true, Irql.PASSIVE_LEVEL]);
  });

  it('NdisReleaseSpinLock back to DISPATCH_LEVEL does not lower the IRQL: no promise, the queued DPC waits', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const { ndis, kernel } = rig6;
    const lock = ndis.allocateSpinLock('AdapterLock');
    const seen = await kernel.runAtPassive('MiniportOidRequest', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await ndis.queueDpcEx(ctx.interrupt!, 0, 1 << kernel.currentProcessor());
      await ndis.acquireSpinLock(lock);
      const released = ndis.releaseSpinLock(lock);
      const r = [released, ran(ctx.events, 'dpc')];
      await kernel.lowerIrql(old);
      return [...r, ran(ctx.events, 'dpc')];
    });
    expect(seen).toEqual([undefined, 0, 1]);
  });

  it('NdisMSynchronizeWithInterruptEx: an interrupt raised in MiniportSynchronizeInterrupt runs MiniportInterrupt and MiniportInterruptDPC before NdisMSynchronizeWithInterruptEx returns', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const { ndis, kernel, nic } = rig6;
    const seen = await kernel.runAtPassive('MiniportOidRequest', async () => {
      await ndis.synchronizeWithInterruptEx(
        ctx.interrupt!,
        0,
        function MiniportSynchronizeInterrupt() {
          nic.raise(RXT0);
          return true;
        },
        null,
      );
      return [ran(ctx.events, 'isr'), ran(ctx.events, 'dpc'), settled(kernel)];
    });
    expect(seen).toEqual([1, 1, true]);
  });

  it('NdisMQueueDpcEx at PASSIVE_LEVEL for the current processor: MiniportInterruptDPC has run when NdisMQueueDpcEx returns', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const { ndis, kernel } = rig6;
    const seen = await kernel.runAtPassive('MiniportOidRequest', async () => {
      const queued = await ndis.queueDpcEx(ctx.interrupt!, 0, 1 << kernel.currentProcessor(), 'from the OID');
      return [queued, ran(ctx.events, 'dpc'), ctx.dpcContexts.at(-1), settled(kernel)];
    });
    expect(seen).toEqual([1 << 0, 1, 'from the OID', true]);
  });

  it('NdisMQueueDpcEx at DISPATCH_LEVEL returns the processors it queued on without running MiniportInterruptDPC (no promise made)', async () => {
    rig6 = makeNdis6Rig();
    const { ctx } = await rig6.start();
    const { ndis, kernel } = rig6;
    const seen = await kernel.runAtPassive('MiniportOidRequest', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const queued = ndis.queueDpcEx(ctx.interrupt!, 0, 1 << kernel.currentProcessor());
      const r = [queued, ran(ctx.events, 'dpc')];
      await kernel.lowerIrql(old);
      return [...r, ran(ctx.events, 'dpc')];
    });
    expect(seen).toEqual([1 << 0, 0, 1]);
  });
});

describe('delivery where Windows delivers (NDIS 5)', () => {
  it('NdisReleaseSpinLock (NDIS 5): an interrupt raised while the lock was held runs MiniportISR, then MiniportHandleInterrupt, before NdisReleaseSpinLock returns', async () => {
    rig5 = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig5.start();
    const { ndis, kernel, nic } = rig5;
    const lock = ndis.allocateSpinLock('AdapterLock');
    const seen = await kernel.runAtPassive('MiniportSetInformation', async () => {
      await ndis.acquireSpinLock(lock);
      nic.raise(RXT0);
      const underLock = [ran(ctx.events, 'isr'), ran(ctx.events, 'handle')];
      await ndis.releaseSpinLock(lock);
      return [...underLock, ran(ctx.events, 'isr'), ran(ctx.events, 'handle'), settled(kernel)];
    });
    expect(seen).toEqual([0, 0, 1, 1, true]);
  });

  it('NdisMSynchronizeWithInterrupt: an interrupt raised in MiniportSynchronizeISR runs MiniportISR and MiniportHandleInterrupt before NdisMSynchronizeWithInterrupt returns', async () => {
    rig5 = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig5.start();
    const { ndis, kernel, nic } = rig5;
    const seen = await kernel.runAtPassive('MiniportSetInformation', async () => {
      await ndis.synchronizeWithInterrupt(
        ctx.interrupt!,
        function MiniportSynchronizeISR() {
          nic.raise(RXT0);
          return true;
        },
        null,
      );
      return [ran(ctx.events, 'isr'), ran(ctx.events, 'handle'), settled(kernel)];
    });
    expect(seen).toEqual([1, 1, true]);
  });

  it('NdisMSynchronizeWithInterrupt without MiniportISR: MiniportDisableInterrupt and MiniportHandleInterrupt run before it returns', async () => {
    rig5 = makeNdis5Rig({ requestIsr: false });
    const { ctx } = await rig5.start();
    const { ndis, kernel, nic } = rig5;
    const seen = await kernel.runAtPassive('MiniportSetInformation', async () => {
      await ndis.synchronizeWithInterrupt(
        ctx.interrupt!,
        function MiniportSynchronizeISR() {
          nic.raise(RXT0);
          return true;
        },
        null,
      );
      return [ran(ctx.events, 'disable'), ran(ctx.events, 'handle'), settled(kernel)];
    });
    expect(seen).toEqual([1, 1, true]);
  });
});
