import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, KernelEvent, VerifierViolation } from '../../../src/kernel/index.ts';
import { NtStatus, WdfViolation, WdfTypeId } from '../../../src/wdf/index.ts';
import { atPassive, loadNic, makeWdfRig, type WdfRig } from './rig.ts';

let r: WdfRig;
afterEach(async () => r?.cleanup());

describe('locks', () => {
  it('WdfSpinLockAcquire raises to DISPATCH_LEVEL and WdfSpinLockRelease restores the caller IRQL', async () => {
    r = makeWdfRig();
    await loadNic(r);
    const seen = await atPassive(r, async () => {
      const lock = r.wdf.wdfSpinLockCreate({ name: 'SendLock' });
      await r.wdf.wdfSpinLockAcquire(lock);
      const inside = r.kernel.currentIrql();
      await r.wdf.wdfSpinLockRelease(lock);
      return [inside, r.kernel.currentIrql()];
    });
    expect(seen).toEqual([Irql.DISPATCH_LEVEL, Irql.PASSIVE_LEVEL]);
  });

  it("WdfSpinLockRelease at PASSIVE_LEVEL (not holding it) is KeReleaseSpinLock's 0xC4/0x32", async () => {
    r = makeWdfRig();
    await loadNic(r);
    await expect(atPassive(r, () => r.wdf.wdfSpinLockRelease(r.wdf.wdfSpinLockCreate()))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.RELEASE_SPIN_LOCK_NOT_AT_DISPATCH, Irql.PASSIVE_LEVEL, expect.any(Number), 0],
      report: { api: 'WdfSpinLockRelease' },
    });
  });

  it('a wait lock makes a second acquirer wait; a zero timeout returns STATUS_TIMEOUT while it is held', async () => {
    r = makeWdfRig({ processors: 2 });
    await loadNic(r);
    const order: string[] = [];
    const lock = await atPassive(r, () => r.wdf.wdfWaitLockCreate({ name: 'ConfigLock' }));
    // Events, not delays, order the two threads: a loaded machine must not change the outcome.
    const firstHasIt = new KernelEvent(r.kernel, 'notification', false, 'FirstHasIt');
    const secondTried = new KernelEvent(r.kernel, 'notification', false, 'SecondTried');
    await Promise.all([
      r.kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'First', async () => {
        await r.wdf.wdfWaitLockAcquire(lock);
        order.push('first has it');
        firstHasIt.set();
        await secondTried.wait();
        await r.kernel.delayExecution(5);
        order.push('first releases');
        r.wdf.wdfWaitLockRelease(lock);
      }),
      r.kernel.runOnProcessor(1, Irql.PASSIVE_LEVEL, 'Second', async () => {
        await firstHasIt.wait();
        order.push(`try: ${(await r.wdf.wdfWaitLockAcquire(lock, 0)) === NtStatus.STATUS_TIMEOUT ? 'timeout' : 'got it'}`);
        secondTried.set();
        await r.wdf.wdfWaitLockAcquire(lock);
        order.push('second has it');
        r.wdf.wdfWaitLockRelease(lock);
      }),
    ]);
    expect(order).toEqual(['first has it', 'try: timeout', 'first releases', 'second has it']);
  });

  it('acquiring a wait lock twice is WDF_VIOLATION (WDF_RECURSIVE_LOCK)', async () => {
    r = makeWdfRig();
    await loadNic(r);
    await expect(
      atPassive(r, async () => {
        const lock = r.wdf.wdfWaitLockCreate();
        await r.wdf.wdfWaitLockAcquire(lock);
        await r.wdf.wdfWaitLockAcquire(lock);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.WDF_VIOLATION, parameters: [WdfViolation.WDF_RECURSIVE_LOCK, 0, 0, 0] });
  });
});

describe('objects', () => {
  it('deleting a parent deletes its children: a spin lock parented to a deleted work item is gone too', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    const cleaned: string[] = [];
    const [item, lock] = await atPassive(r, () => {
      const wi = r.wdf.wdfWorkItemCreate({ evtWorkItem: () => undefined }, { parentObject: device, evtCleanupCallback: () => cleaned.push('work item') });
      const sl = r.wdf.wdfSpinLockCreate({ parentObject: wi, evtCleanupCallback: () => cleaned.push('spin lock') });
      return [wi, sl] as const;
    });
    await atPassive(r, () => r.wdf.wdfObjectDelete(item));
    expect(cleaned).toEqual(['spin lock', 'work item']);
    await expect(atPassive(r, () => r.wdf.wdfSpinLockAcquire(lock))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [WdfViolation.WDF_INVALID_HANDLE, lock, WdfTypeId.WDFSPINLOCK, 0],
    });
  });

  it('getContext returns the object context given at creation', async () => {
    r = makeWdfRig();
    const { device, context } = await loadNic(r);
    expect(r.wdf.getContext(device)).toBe(context);
    const q = await atPassive(r, () => r.wdf.wdfIoQueueCreate(device, { dispatch: 'manual' }, { context: { name: 'rx' } }));
    expect(r.wdf.wdfObjectGetTypedContext<{ name: string }>(q).name).toBe('rx');
  });

  it('a work item created with WdfWorkItemCreate runs at PASSIVE_LEVEL and WdfWorkItemFlush waits for it', async () => {
    r = makeWdfRig();
    const { device } = await loadNic(r);
    const order: string[] = [];
    await atPassive(r, async () => {
      const wi = r.wdf.wdfWorkItemCreate(
        {
          async evtWorkItem() {
            await r.kernel.delayExecution(5);
            order.push(`work item at ${r.kernel.currentIrql()}`);
          },
        },
        { parentObject: device },
      );
      r.wdf.wdfWorkItemEnqueue(wi);
      r.wdf.wdfWorkItemEnqueue(wi);
      await r.wdf.wdfWorkItemFlush(wi);
      order.push('flushed');
    });
    expect(order).toEqual(['work item at 0', 'flushed']);
  });
});
