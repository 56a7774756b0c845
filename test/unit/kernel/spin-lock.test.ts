import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, DeviceRegisters, Dpc, Irql, SpinLock, VerifierViolation } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('spin locks', () => {
  it('acquire raises to DISPATCH_LEVEL and returns the old IRQL; release restores it', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel, 'AdapterLock');
    const seen = await kernel.runAtPassive('r', async () => {
      const old = await lock.acquire();
      const inside = kernel.currentIrql();
      await lock.release(old);
      return [old, inside, kernel.currentIrql()];
    });
    expect(seen).toEqual([Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL, Irql.PASSIVE_LEVEL]);
  });

  it('the at-DPC-level forms work at DISPATCH_LEVEL without changing the IRQL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    const dpc = new Dpc(async () => {
      await lock.acquireAtDpcLevel();
      expect(lock.owner).not.toBeNull();
      lock.releaseFromDpcLevel();
      expect(kernel.currentIrql()).toBe(Irql.DISPATCH_LEVEL);
    });
    await kernel.insertQueueDpc(dpc);
    await kernel.quiesce();
    expect(kernel.stopped).toBeNull();
    expect(lock.owner).toBeNull();
  });

  it('KeAcquireSpinLockAtDpcLevel below DISPATCH_LEVEL is a bug check (0xC4, 0x40)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    await expect(kernel.runAtPassive('r', () => lock.acquireAtDpcLevel())).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.ACQUIRE_SPIN_LOCK_AT_DPC_LEVEL_BELOW_DISPATCH, 0, lock.id, 0],
    });
  });

  it('KeReleaseSpinLockFromDpcLevel below DISPATCH_LEVEL is a bug check (0xC4, 0x41)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    await expect(kernel.runAtPassive('r', () => lock.releaseFromDpcLevel())).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.RELEASE_SPIN_LOCK_FROM_DPC_LEVEL_BELOW_DISPATCH, 0, lock.id, 0],
    });
  });

  it('KeAcquireSpinLock above DISPATCH_LEVEL is a bug check (0xC4, 0x42)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(5);
        await lock.acquire();
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH, 5, lock.id, 0] });
  });

  it("acquiring a spin lock twice on one processor is Driver Verifier's self-deadlock (0xC4, 0x1000), with the first acquisition stack in the report", async () => {
    rig = makeRig({ verifier: {} });
    const { kernel } = rig;
    const lock = new SpinLock(kernel, 'RxLock');
    await expect(
      kernel.runAtPassive('MiniportReturnNetBufferLists', async () => {
        await lock.acquire();
        await lock.acquire();
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.DEADLOCK_SELF, expect.any(Number), 0, 0] });
    const report = await kernel.bugCheckReport;
    expect(report.parameters[1]).toBe(lock.id);
    expect(report.stacks.map((s) => s.label)).toContain('RxLock was acquired at');
  });

  it("releasing a spin lock that is not held is deadlock detection's unacquired release (0xC4, 0x1007)", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await lock.release(Irql.PASSIVE_LEVEL);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.DEADLOCK_UNACQUIRED_RELEASE, lock.id, 0, 0] });
  });

  it("releasing a spin lock held by a routine on another processor is deadlock detection's unexpected thread (0xC4, 0x1004)", async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    const lock = new SpinLock(kernel, 'SharedLock');
    let holder: Promise<unknown> | undefined;
    const released = new Promise<void>((resolve) => {
      holder = kernel
        .runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Holder', async () => {
          const old = await lock.acquire();
          resolve();
          await kernel.stallExecutionProcessor(20_000);
          await lock.release(old);
        })
        .catch((e: unknown) => e);
    });
    await released;
    const thief = kernel.runOnProcessor(1, Irql.PASSIVE_LEVEL, 'Thief', async () => {
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await lock.release(Irql.PASSIVE_LEVEL);
    });
    await expect(thief).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DEADLOCK_UNEXPECTED_THREAD, lock.id, expect.any(Number), expect.any(Number)],
    });
    await holder;
    expect((await kernel.bugCheckReport).message).toContain('held by Holder on processor 0');
  });

  it('releasing with the IRQL raised above DISPATCH_LEVEL is a bug check (0xC4, 0x32)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel);
    await expect(
      kernel.runAtPassive('r', async () => {
        const old = await lock.acquire();
        kernel.raiseIrql(7);
        await lock.release(old);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.RELEASE_SPIN_LOCK_NOT_AT_DISPATCH, 7, lock.id, 0] });
  });

  it('DPCs do not run on a processor while a routine there holds a spin lock, and run once it is released', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const lock = new SpinLock(kernel);
    const order: string[] = [];
    const dpc = new Dpc(() => {
      order.push('dpc');
    });
    await kernel.runAtPassive('r', async () => {
      const old = await lock.acquire();
      await kernel.insertQueueDpc(dpc);
      await regs.read32(0);
      order.push('locked read');
      await lock.release(old);
      await regs.read32(0);
      order.push('unlocked read');
    });
    expect(order).toEqual(['locked read', 'dpc', 'unlocked read']);
  });

  it('on two processors the second acquirer spins until the first releases', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const lock = new SpinLock(kernel, 'TxLock');
    const order: string[] = [];
    const otherState: Record<string, string> = {};
    const critical = (who: string, other: number) => async () => {
      const old = await lock.acquire();
      order.push(`${who} in`);
      for (let i = 0; i < 3; i++) await regs.read32(0x10);
      otherState[who] = kernel.processors[other]!.running()
        .map((r) => r.state ?? '')
        .join(',');
      order.push(`${who} out`);
      await lock.release(old);
    };
    await Promise.all([kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'SendA', critical('A', 1)), kernel.runOnProcessor(1, Irql.PASSIVE_LEVEL, 'SendB', critical('B', 0))]);
    const first = order[0]!.split(' ')[0]!;
    const second = first === 'A' ? 'B' : 'A';
    expect(order).toEqual([`${first} in`, `${first} out`, `${second} in`, `${second} out`]);
    expect(otherState[first]).toContain('spinning on TxLock');
  });
});
