import { afterEach, describe, expect, it } from 'vitest';
import type { Kernel } from '../../../src/kernel/index.ts';
import { atPassive, Irql, loadNic, makeWdfRig, type WdfRig } from './rig.ts';

// Windows takes an interrupt or DPC the instant the IRQL falls below its level: each KMDF call that
// lowers the IRQL (or queues the DPC below DISPATCH_LEVEL) returns only after EvtInterruptIsr and
// EvtInterruptDpc ran. The rig's EvtInterruptIsr keeps the ICR causes in the device context and
// queues the DPC; EvtInterruptDpc is recorded in `events`.

let r: WdfRig;
afterEach(async () => r?.cleanup());

const RXT0 = 0x80;
const dpcs = (rig: WdfRig) => rig.events.filter((e) => e.startsWith('EvtInterruptDpc')).length;
/** No ISR or DPC is running or queued on any processor: the callbacks did not just start, they returned. */
const settled = (kernel: Kernel) => kernel.processors.every((P) => P.nested.length === 0 && P.dpcQueue.length === 0);

describe('delivery where Windows delivers (KMDF)', () => {
  it('WdfSpinLockRelease: an interrupt raised while the lock was held runs EvtInterruptIsr, then EvtInterruptDpc, before WdfSpinLockRelease returns', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const seen = await atPassive(r, async () => {
      const lock = r.wdf.wdfSpinLockCreate({ name: 'DeviceLock' });
      await r.wdf.wdfSpinLockAcquire(lock);
      r.device.raise(RXT0);
      const underLock = [context.causes, dpcs(r)];
      await r.wdf.wdfSpinLockRelease(lock);
      return [...underLock, context.causes, dpcs(r), settled(r.kernel), r.kernel.currentIrql()];
    });
    expect(seen).toEqual([0, 0, RXT0, 1, true, Irql.PASSIVE_LEVEL]);
  });

  it('WdfInterruptReleaseLock: an interrupt raised while the interrupt lock was held runs EvtInterruptIsr, then EvtInterruptDpc, before WdfInterruptReleaseLock returns', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const seen = await atPassive(r, async () => {
      await r.wdf.wdfInterruptAcquireLock(context.interrupt);
      r.device.raise(RXT0);
      const underLock = [context.causes, dpcs(r)];
      await r.wdf.wdfInterruptReleaseLock(context.interrupt);
      return [...underLock, context.causes, dpcs(r), settled(r.kernel)];
    });
    expect(seen).toEqual([0, 0, RXT0, 1, true]);
  });

  it('WdfInterruptSynchronize: an interrupt raised in EvtInterruptSynchronize runs EvtInterruptIsr, then EvtInterruptDpc, before WdfInterruptSynchronize returns', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const seen = await atPassive(r, async () => {
      await r.wdf.wdfInterruptSynchronize(
        context.interrupt,
        function EvtInterruptSynchronize() {
          r.device.raise(RXT0);
          return true;
        },
        null,
      );
      return [context.causes, dpcs(r), settled(r.kernel)];
    });
    expect(seen).toEqual([RXT0, 1, true]);
  });

  it('WdfInterruptQueueDpcForIsr at PASSIVE_LEVEL: EvtInterruptDpc has run when WdfInterruptQueueDpcForIsr returns', async () => {
    r = makeWdfRig();
    const { context } = await loadNic(r);
    await r.wdf.startDevice(r.resources);
    const seen = await atPassive(r, async () => {
      const queued = await r.wdf.wdfInterruptQueueDpcForIsr(context.interrupt);
      return [queued, dpcs(r), settled(r.kernel)];
    });
    expect(seen).toEqual([true, 1, true]);
  });

  it('WdfInterruptQueueDpcForIsr in EvtInterruptIsr returns a plain TRUE; EvtInterruptDpc runs after the ISR', async () => {
    r = makeWdfRig();
    const results: unknown[] = [];
    const { context } = await loadNic(r, {
      interrupt: {
        async evtInterruptIsr(interrupt) {
          const c = r.wdf.getContext<{ regs: { read32(o: number): Promise<number> } }>(r.wdf.wdfInterruptGetDevice(interrupt));
          if ((await c.regs.read32(0xc0)) === 0) return false;
          results.push(r.wdf.wdfInterruptQueueDpcForIsr(interrupt), dpcs(r)); // not awaited: at DIRQL it must be a plain boolean
          return true;
        },
      },
    });
    await r.wdf.startDevice(r.resources);
    expect(context.interrupt).toBeDefined();
    r.device.raise(RXT0);
    await r.kernel.quiesce();
    expect(results).toEqual([true, 0]);
    expect(dpcs(r)).toBe(1);
  });
});
