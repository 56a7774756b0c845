import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, DeviceRegisters, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const LINE = 11;

describe('interrupt spin lock and synchronize-with-interrupt', () => {
  it('synchronizeExecution runs the callback at the synchronize IRQL holding the interrupt lock, then restores the caller IRQL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, irql: 5, synchronizeIrql: 6, isr: () => false });
    const seen = await kernel.runAtPassive('r', async () => {
      let inside: unknown[] = [];
      await kernel.synchronizeExecution(
        interrupt,
        function MiniportSynchronizeInterrupt(ctx) {
          inside = [kernel.currentIrql(), interrupt.lock.owner?.name, ctx];
          return true;
        },
        'context',
      );
      return [...inside, kernel.currentIrql(), interrupt.lock.owner];
    });
    expect(seen).toEqual([6, 'r', 'context', Irql.PASSIVE_LEVEL, null]);
  });

  it('synchronizeExecution returns the boolean the callback returned', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, isr: () => false });
    const results = await kernel.runAtPassive('r', async () => [
      await kernel.synchronizeExecution(interrupt, () => true),
      await kernel.synchronizeExecution(interrupt, async () => false),
    ]);
    expect(results).toEqual([true, false]);
  });

  it('synchronizeExecution may be called from a DPC and returns to DISPATCH_LEVEL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const { Dpc } = await import('../../../src/kernel/index.ts');
    const interrupt = kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false });
    const seen: number[] = [];
    await kernel.insertQueueDpc(
      new Dpc(async () => {
        await kernel.synchronizeExecution(interrupt, () => {
          seen.push(kernel.currentIrql());
          return true;
        });
        seen.push(kernel.currentIrql());
      }),
    );
    await kernel.quiesce();
    expect(seen).toEqual([5, Irql.DISPATCH_LEVEL]);
  });

  it("KeSynchronizeExecution above the synchronize IRQL is Driver Verifier's 0xC4/0xE5", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, irql: 5, isr: () => false });
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(9);
        await kernel.synchronizeExecution(interrupt, () => true);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, 9, 0, 0] });
  });

  it("synchronizing again on the same interrupt from inside the callback is Driver Verifier's self-deadlock (0xC4, 0x1000): Windows would hang", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, isr: () => false });
    await expect(kernel.runAtPassive('r', () => kernel.synchronizeExecution(interrupt, () => kernel.synchronizeExecution(interrupt, () => true)))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DEADLOCK_SELF, interrupt.lock.id, 0, 0],
    });
  });

  it('ISR does not run while a synchronize callback holds the interrupt lock on another processor', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      isr: async () => {
        order.push(`isr on ${kernel.currentProcessor()}`);
        return (await regs.read32(ICR)) !== 0;
      },
    });
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportOidRequest', () =>
      kernel.synchronizeExecution(interrupt, async () => {
        order.push('sync in');
        device.raise(0x80);
        for (let i = 0; i < 10; i++) await regs.read32(0);
        await kernel.stallExecutionProcessor(3000);
        order.push('sync out');
        return true;
      }),
    );
    await kernel.quiesce();
    expect(order).toEqual(['sync in', 'sync out', 'isr on 1']);
  });

  it('acquireInterruptSpinLock raises to the synchronize IRQL and keeps the ISR out until released; the ISR runs before KeReleaseInterruptSpinLock returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      irql: 6,
      isr: async () => {
        order.push('isr');
        return (await regs.read32(ICR)) !== 0;
      },
    });
    await kernel.runAtPassive('r', async () => {
      const old = await kernel.acquireInterruptSpinLock(interrupt);
      order.push(`locked at ${kernel.currentIrql()}`);
      device.raise(0x80);
      await regs.read32(0);
      await kernel.releaseInterruptSpinLock(interrupt, old);
      order.push(`released at ${kernel.currentIrql()}`);
      await regs.read32(0);
    });
    expect(order).toEqual(['locked at 6', 'isr', 'released at 0']);
  });

  it('WdfInterruptAcquireLock/ReleaseLock forms use the interrupt spin lock', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, irql: 7, isr: () => false });
    const seen = await kernel.runAtPassive('r', async () => {
      const old = await kernel.acquireInterruptLock(interrupt);
      const inside = [kernel.currentIrql(), interrupt.lock.owner !== null];
      await kernel.releaseInterruptLock(interrupt, old);
      return [...inside, kernel.currentIrql(), interrupt.lock.owner];
    });
    expect(seen).toEqual([7, true, 0, null]);
  });

  it("releasing an interrupt lock that is not held is deadlock detection's unacquired release (0xC4, 0x1007)", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, isr: () => false });
    await expect(kernel.runAtPassive('r', () => kernel.releaseInterruptSpinLock(interrupt, 0))).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DEADLOCK_UNACQUIRED_RELEASE, expect.any(Number), 0, 0],
    });
  });
});

describe('passive-level interrupts', () => {
  it('the ISR runs at PASSIVE_LEVEL under the passive-level interrupt lock', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const seen: unknown[] = [];
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      passive: true,
      name: 'I2cIsr',
      isr: async (i) => {
        seen.push(kernel.currentIrql(), i.lock.owner !== null);
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(seen).toEqual([Irql.PASSIVE_LEVEL, true]);
    expect(interrupt.recognized).toBe(1);
  });

  it('synchronizeExecution on a passive-level interrupt runs the callback at PASSIVE_LEVEL and keeps the ISR out', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const interrupt = kernel.connectInterrupt({
      line: LINE,
      passive: true,
      isr: async () => {
        order.push('isr');
        return (await regs.read32(ICR)) !== 0;
      },
    });
    await kernel.runAtPassive('r', () =>
      kernel.synchronizeExecution(interrupt, async () => {
        order.push(`sync at ${kernel.currentIrql()}`);
        device.raise(0x80);
        await kernel.delayExecution(5);
        await regs.read32(0);
        order.push('sync out');
        return true;
      }),
    );
    await kernel.quiesce();
    expect(order).toEqual(['sync at 0', 'sync out', 'isr']);
  });

  it("KeSynchronizeExecution on a passive-level interrupt above PASSIVE_LEVEL is Driver Verifier's 0xC4/0xE5", async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, passive: true, isr: () => false });
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await kernel.synchronizeExecution(interrupt, () => true);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0] });
  });

  it('KeAcquireInterruptSpinLock on a passive-level interrupt is PASSIVE_INTERRUPT_ERROR', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, passive: true, isr: () => false });
    await expect(kernel.runAtPassive('r', () => kernel.acquireInterruptSpinLock(interrupt))).rejects.toMatchObject({
      code: BugCheckCode.PASSIVE_INTERRUPT_ERROR,
      parameters: [1, interrupt.id, 0, 0],
    });
  });

  it('WdfInterruptAcquireLock on a passive-level interrupt takes the passive-level lock at PASSIVE_LEVEL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: LINE, passive: true, isr: () => false });
    const seen = await kernel.runAtPassive('r', async () => {
      const old = await kernel.acquireInterruptLock(interrupt);
      const inside = [kernel.currentIrql(), interrupt.lock.owner !== null];
      await kernel.releaseInterruptLock(interrupt, old);
      return [...inside, interrupt.lock.owner];
    });
    expect(seen).toEqual([0, true, null]);
  });
});
