import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { BUGCODE_NDIS_DRIVER, Ndis6, NdisViolation } from '../../../src/ndis/ndis6/index.ts';
import { makeKernelRig, type KernelRig } from './fakes.ts';

let rig: KernelRig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

describe('NDIS spin locks (NDIS_SPIN_LOCK keeps the old IRQL inside)', () => {
  it("NdisAcquireSpinLock raises to DISPATCH_LEVEL and keeps the caller's IRQL in the lock; NdisReleaseSpinLock restores it", async () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const k = rig.kernel;
    const lock = ndis.allocateSpinLock('TxLock');
    const seen = await k.runAtPassive('Caller', async () => {
      const out: number[] = [];
      await ndis.acquireSpinLock(lock);
      out.push(k.currentIrql(), lock.oldIrql);
      await ndis.releaseSpinLock(lock);
      out.push(k.currentIrql());
      const old = k.raiseIrql(Irql.DISPATCH_LEVEL);
      await ndis.acquireSpinLock(lock);
      out.push(lock.oldIrql);
      await ndis.releaseSpinLock(lock);
      out.push(k.currentIrql());
      await k.lowerIrql(old);
      return out;
    });
    expect(seen).toEqual([Irql.DISPATCH_LEVEL, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL, Irql.DISPATCH_LEVEL]);
    expect(lock.held).toBe(false);
  });

  it('NdisDprAcquireSpinLock / NdisDprReleaseSpinLock leave the IRQL alone', async () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const k = rig.kernel;
    const lock = ndis.allocateSpinLock();
    const seen = await k.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'Dpc-like', async () => {
      await ndis.dprAcquireSpinLock(lock);
      const inside = [k.currentIrql(), lock.held ? 1 : 0];
      ndis.dprReleaseSpinLock(lock);
      return [...inside, k.currentIrql(), lock.held ? 1 : 0];
    });
    expect(seen).toEqual([Irql.DISPATCH_LEVEL, 1, Irql.DISPATCH_LEVEL, 0]);
  });

  it('on two processors the second NdisAcquireSpinLock spins until the first holder releases', async () => {
    rig = makeKernelRig({ processors: 2 });
    const ndis = new Ndis6(rig.kernel);
    const k = rig.kernel;
    const lock = ndis.allocateSpinLock('Shared');
    const order: string[] = [];
    let signal!: () => void;
    const held = new Promise<void>((r) => {
      signal = r;
    });
    const first = k.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'First', async () => {
      await ndis.acquireSpinLock(lock);
      order.push('first acquired');
      signal();
      await k.stallExecutionProcessor(3000);
      order.push('first releases');
      await ndis.releaseSpinLock(lock);
    });
    const second = k.runOnProcessor(1, Irql.PASSIVE_LEVEL, 'Second', async () => {
      await k.wait(held, 'first to hold the lock');
      await ndis.acquireSpinLock(lock);
      order.push('second acquired');
      await ndis.releaseSpinLock(lock);
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first acquired', 'first releases', 'second acquired']);
  });

  it("acquiring an NDIS spin lock the same processor already holds is Driver Verifier's self-deadlock (0xC4, 0x1000)", async () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const lock = ndis.allocateSpinLock('Twice');
    await expect(
      rig.kernel.runAtPassive('Caller', async () => {
        await ndis.acquireSpinLock(lock);
        await ndis.acquireSpinLock(lock);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.DEADLOCK_SELF, expect.any(Number), 0, 0] });
  });

  it('NdisFreeSpinLock of a held lock, and use after NdisFreeSpinLock, are BUGCODE_NDIS_DRIVER', async () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const lock = ndis.allocateSpinLock('Freed');
    await expect(
      rig.kernel.runAtPassive('Caller', async () => {
        await ndis.acquireSpinLock(lock);
        ndis.freeSpinLock(lock);
      }),
    ).rejects.toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.SPIN_LOCK_FREED, lock.spinLock.id, 0, 0], report: { api: 'NdisFreeSpinLock' } });
  });

  it('acquiring a freed NDIS spin lock is BUGCODE_NDIS_DRIVER', async () => {
    rig = makeKernelRig();
    const ndis = new Ndis6(rig.kernel);
    const lock = ndis.allocateSpinLock('Gone');
    ndis.freeSpinLock(lock);
    await expect(rig.kernel.runAtPassive('Caller', () => ndis.acquireSpinLock(lock))).rejects.toMatchObject({ code: BUGCODE_NDIS_DRIVER, report: { api: 'NdisAcquireSpinLock' } });
  });
});
