import { afterEach, describe, expect, it } from 'vitest';
import { DeviceRegisters, Dpc, Irql, SpinLock, type Kernel } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

// Windows takes an interrupt or DPC the instant the IRQL falls below its level. Each test raises
// the work while it cannot be delivered, makes the one call that lowers the IRQL (or queues the
// DPC below DISPATCH_LEVEL), and checks that the statement right after the call sees its effect.

let rig: Rig;
afterEach(async () => rig?.cleanup());

const LINE = 11;

/** An ISR at DIRQL 5 that claims the device's causes and queues `dpc` (if given); `log` records both. */
function connectCountingIsr(kernel: Kernel, regs: DeviceRegisters, log: string[], dpc?: Dpc) {
  return kernel.connectInterrupt({
    line: LINE,
    irql: 5,
    synchronizeIrql: 6,
    isr: async function CountingIsr() {
      if ((await regs.read32(ICR)) === 0) return false;
      log.push('isr');
      if (dpc) await kernel.insertQueueDpc(dpc);
      return true;
    },
  });
}

describe('delivery where Windows delivers (kernel)', () => {
  it('KeLowerIrql: an interrupt pending above the new IRQL runs its ISR before KeLowerIrql returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log);
    await kernel.runAtPassive('Routine', async () => {
      const old = kernel.raiseIrql(6);
      device.raise(0x80);
      log.push('raised at 6');
      await kernel.lowerIrql(old);
      log.push('after KeLowerIrql');
    });
    expect(log).toEqual(['raised at 6', 'isr', 'after KeLowerIrql']);
  });

  it('KeLowerIrql: DPCs queued at DISPATCH_LEVEL run before KeLowerIrql to PASSIVE_LEVEL returns', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const log: string[] = [];
    const dpc = new Dpc(
      () => {
        log.push(`dpc at ${kernel.currentIrql()}`);
      },
      undefined,
      'QueuedDpc',
    );
    await kernel.runAtPassive('Routine', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await kernel.insertQueueDpc(dpc);
      log.push('queued at DISPATCH');
      await kernel.lowerIrql(old);
      log.push('after KeLowerIrql');
    });
    expect(log).toEqual(['queued at DISPATCH', `dpc at ${Irql.DISPATCH_LEVEL}`, 'after KeLowerIrql']);
  });

  it('KeLowerIrql to DISPATCH_LEVEL takes the pending interrupt but not the DPCs; they run once the IRQL falls below DISPATCH_LEVEL', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const dpc = new Dpc(
      () => {
        log.push('dpc');
      },
      undefined,
      'IsrDpc',
    );
    connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log, dpc);
    await kernel.runAtPassive('Routine', async () => {
      const old = kernel.raiseIrql(Irql.HIGH_LEVEL);
      device.raise(0x80);
      await kernel.lowerIrql(Irql.DISPATCH_LEVEL);
      log.push('at DISPATCH');
      await kernel.lowerIrql(old);
      log.push('at PASSIVE');
    });
    expect(log).toEqual(['isr', 'at DISPATCH', 'dpc', 'at PASSIVE']);
  });

  it('KeLowerIrql with nothing pending makes no promise (the hot path stays cheap)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const results = await kernel.runAtPassive('Routine', () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      return [kernel.lowerIrql(old)];
    });
    expect(results).toEqual([undefined]);
  });

  it('KeReleaseSpinLock: an interrupt raised while the lock was held runs its ISR, then the DPC it queued, before KeReleaseSpinLock returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const dpc = new Dpc(
      () => {
        log.push('dpc');
      },
      undefined,
      'IsrDpc',
    );
    connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log, dpc);
    const lock = new SpinLock(kernel, 'AdapterLock');
    await kernel.runAtPassive('Routine', async () => {
      const old = await lock.acquire();
      device.raise(0x80);
      log.push('raised under the lock');
      await lock.release(old);
      log.push('after KeReleaseSpinLock');
    });
    expect(log).toEqual(['raised under the lock', 'isr', 'dpc', 'after KeReleaseSpinLock']);
  });

  it('KeReleaseSpinLock back to DISPATCH_LEVEL (in a DPC) does not lower the IRQL and is no preemption point', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const lock = new SpinLock(kernel, 'AdapterLock');
    const later = new Dpc(() => undefined, undefined, 'LaterDpc');
    const seen: unknown[] = [];
    await kernel.insertQueueDpc(
      new Dpc(
        async () => {
          const old = await lock.acquire();
          kernel.enqueueDpc(later);
          seen.push(lock.release(old), later.queued, kernel.currentIrql());
        },
        undefined,
        'OuterDpc',
      ),
    );
    await kernel.quiesce();
    expect(seen).toEqual([undefined, true, Irql.DISPATCH_LEVEL]);
  });

  it('KeReleaseInterruptSpinLock: an interrupt raised while the interrupt lock was held runs its ISR before KeReleaseInterruptSpinLock returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const interrupt = connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log);
    await kernel.runAtPassive('Routine', async () => {
      const old = await kernel.acquireInterruptSpinLock(interrupt);
      device.raise(0x80);
      log.push('raised under the interrupt lock');
      await kernel.releaseInterruptSpinLock(interrupt, old);
      log.push('after KeReleaseInterruptSpinLock');
    });
    expect(log).toEqual(['raised under the interrupt lock', 'isr', 'after KeReleaseInterruptSpinLock']);
  });

  it('KeReleaseInterruptSpinLock in a DPC: the ISR runs before it returns, and the DPC continues at DISPATCH_LEVEL', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const interrupt = connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log);
    await kernel.insertQueueDpc(
      new Dpc(
        async () => {
          const old = await kernel.acquireInterruptSpinLock(interrupt);
          device.raise(0x80);
          await kernel.releaseInterruptSpinLock(interrupt, old);
          log.push(`after KeReleaseInterruptSpinLock at ${kernel.currentIrql()}`);
        },
        undefined,
        'SyncingDpc',
      ),
    );
    await kernel.quiesce();
    expect(log).toEqual(['isr', `after KeReleaseInterruptSpinLock at ${Irql.DISPATCH_LEVEL}`]);
  });

  it('WdfInterruptReleaseLock (kernel form): an interrupt raised while the lock was held runs its ISR before the release returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const interrupt = connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log);
    await kernel.runAtPassive('Routine', async () => {
      const old = await kernel.acquireInterruptLock(interrupt);
      device.raise(0x80);
      await kernel.releaseInterruptLock(interrupt, old);
      log.push('after the release');
    });
    expect(log).toEqual(['isr', 'after the release']);
  });

  it('KeSynchronizeExecution: an interrupt raised inside the SynchCritSection routine runs its ISR, then its DPC, before KeSynchronizeExecution returns', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const log: string[] = [];
    const dpc = new Dpc(
      () => {
        log.push('dpc');
      },
      undefined,
      'IsrDpc',
    );
    const interrupt = connectCountingIsr(kernel, new DeviceRegisters(kernel, device), log, dpc);
    await kernel.runAtPassive('Routine', async () => {
      await kernel.synchronizeExecution(interrupt, function SynchCritSection() {
        device.raise(0x80);
        log.push('raised in the callback');
        return true;
      });
      log.push('after KeSynchronizeExecution');
    });
    expect(log).toEqual(['raised in the callback', 'isr', 'dpc', 'after KeSynchronizeExecution']);
  });

  it('KeInsertQueueDpc at PASSIVE_LEVEL for the current processor: the DPC has run when KeInsertQueueDpc returns', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const log: string[] = [];
    const dpc = new Dpc(
      (_d, _ctx, a1) => {
        log.push(`dpc ${String(a1)} at ${kernel.currentIrql()}`);
      },
      undefined,
      'PassiveQueuedDpc',
    );
    const inserted = await kernel.runAtPassive('Routine', async () => {
      const r = await kernel.insertQueueDpc(dpc, 'arg');
      log.push('after KeInsertQueueDpc');
      return r;
    });
    expect(inserted).toBe(true);
    expect(log).toEqual([`dpc arg at ${Irql.DISPATCH_LEVEL}`, 'after KeInsertQueueDpc']);
  });

  it('KeInsertQueueDpc at DISPATCH_LEVEL returns TRUE without running the DPC (no promise made)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const dpc = new Dpc(() => undefined, undefined, 'DispatchQueuedDpc');
    const seen = await kernel.runAtPassive('Routine', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const r = [kernel.insertQueueDpc(dpc), dpc.queued];
      await kernel.lowerIrql(old);
      return [...r, dpc.queued];
    });
    expect(seen).toEqual([true, true, false]);
  });

  it('KeInsertQueueDpc at PASSIVE_LEVEL for another processor returns without waiting for the DPC', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    const dpc = new Dpc(() => undefined, undefined, 'RemoteDpc');
    dpc.setTargetProcessor(1);
    const seen = await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Routine', () => {
      const r = kernel.insertQueueDpc(dpc);
      return [r, dpc.queued];
    });
    await kernel.quiesce();
    expect(seen).toEqual([true, true]);
    expect(dpc.queued).toBe(false);
  });
});
