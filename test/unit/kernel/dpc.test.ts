import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, BugCheckError, DeviceRegisters, Dpc, Irql } from '../../../src/kernel/index.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('DPCs', () => {
  it('inserting an already-queued DPC returns false and the DPC runs once with the first arguments', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const runs: unknown[][] = [];
    const dpc = new Dpc(
      (_d, ctx, a1, a2) => {
        runs.push([ctx, a1, a2]);
      },
      'ctx',
      'CountingDpc',
    );
    const inserted = await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const r = [kernel.insertQueueDpc(dpc, 1, 2), kernel.insertQueueDpc(dpc, 3, 4), dpc.queued];
      await kernel.lowerIrql(old);
      return r;
    });
    await kernel.quiesce();
    expect(inserted).toEqual([true, false, true]);
    expect(runs).toEqual([['ctx', 1, 2]]);
    expect(dpc.queued).toBe(false);
  });

  it('DPCs run at DISPATCH_LEVEL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let irql = -1;
    const dpc = new Dpc(() => {
      irql = kernel.currentIrql();
    });
    await kernel.runAtPassive('r', async () => {
      await kernel.insertQueueDpc(dpc);
    });
    await kernel.quiesce();
    expect(irql).toBe(Irql.DISPATCH_LEVEL);
  });

  it('a DPC queued while the routine is at DISPATCH_LEVEL waits until KeLowerIrql takes the IRQL below DISPATCH_LEVEL, and runs there', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const dpc = new Dpc(() => {
      order.push('dpc');
    });
    await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await kernel.insertQueueDpc(dpc);
      await regs.read32(0x8);
      order.push('read at DISPATCH');
      await kernel.lowerIrql(old);
      await regs.read32(0x8);
      order.push('read at PASSIVE');
    });
    expect(order).toEqual(['read at DISPATCH', 'dpc', 'read at PASSIVE']);
  });

  it('a DPC queued by the ISR runs after the ISR returns, on the same processor, before the preempted routine continues', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const dpc = new Dpc(
      () => {
        order.push(`dpc on ${kernel.currentProcessor()} at ${kernel.currentIrql()}`);
      },
      undefined,
      'HandleInterrupt',
    );
    kernel.connectInterrupt({
      line: 11,
      irql: 6,
      dpcs: [dpc],
      isr: async () => {
        if (!(await regs.read32(ICR))) return false;
        await kernel.insertQueueDpc(dpc);
        order.push('isr returns');
        return true;
      },
    });
    await kernel.runAtPassive('r', async () => {
      device.raise(0x80);
      await regs.read32(0x8);
      order.push('routine continues');
    });
    expect(order).toEqual(['isr returns', 'dpc on 0 at 2', 'routine continues']);
  });

  it('a DPC targeted at another processor runs there', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const ran: number[] = [];
    const dpc = new Dpc(() => {
      ran.push(kernel.currentProcessor());
    });
    dpc.setTargetProcessor(1);
    kernel.connectInterrupt({
      line: 11,
      processors: [0],
      isr: async () => {
        if (!(await regs.read32(ICR))) return false;
        await kernel.insertQueueDpc(dpc);
        return true;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(ran).toEqual([1]);
  });

  it('each processor has its own DPC queue', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    const d0 = new Dpc(() => undefined, undefined, 'D0');
    const d1 = new Dpc(() => undefined, undefined, 'D1');
    d0.setTargetProcessor(0);
    d1.setTargetProcessor(1);
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await kernel.insertQueueDpc(d0);
      await kernel.insertQueueDpc(d1);
      const queues = kernel.processors.map((p) => p.dpcQueue.map((d) => d.name));
      kernel.removeQueueDpc(d1);
      await kernel.lowerIrql(old);
      expect(queues).toEqual([['D0'], ['D1']]);
    });
  });

  it('KeRemoveQueueDpc dequeues a queued DPC, which then never runs', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let runs = 0;
    const dpc = new Dpc(() => {
      runs++;
    });
    const removed = await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await kernel.insertQueueDpc(dpc);
      const r = [kernel.removeQueueDpc(dpc), kernel.removeQueueDpc(dpc)];
      await kernel.lowerIrql(old);
      return r;
    });
    await kernel.quiesce();
    expect(removed).toEqual([true, false]);
    expect(runs).toBe(0);
  });

  it('a high-importance DPC goes to the head of the queue', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const order: string[] = [];
    const a = new Dpc(() => {
      order.push('a');
    });
    const b = new Dpc(() => {
      order.push('b');
    });
    b.setImportance('high');
    await kernel.runAtPassive('r', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await kernel.insertQueueDpc(a);
      await kernel.insertQueueDpc(b);
      await kernel.lowerIrql(old);
    });
    await kernel.quiesce();
    expect(order).toEqual(['b', 'a']);
  });

  it('KeFlushQueuedDpcs returns once queued DPCs have run', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    let done = false;
    const dpc = new Dpc(async () => {
      await kernel.stallExecutionProcessor(3000);
      done = true;
    });
    dpc.setTargetProcessor(1);
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportHalt', async () => {
      await kernel.insertQueueDpc(dpc);
      await kernel.flushQueuedDpcs();
      expect(done).toBe(true);
    });
  });

  it('a DPC that returns above DISPATCH_LEVEL is IRQL_UNEXPECTED_VALUE', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const dpc = new Dpc(
      () => {
        kernel.raiseIrql(Irql.HIGH_LEVEL);
      },
      undefined,
      'LeakyDpc',
    );
    // Queued at PASSIVE_LEVEL the DPC runs inside KeInsertQueueDpc: its caller sees the stop too.
    await expect(
      kernel.runAtPassive('r', async () => {
        await kernel.insertQueueDpc(dpc);
      }),
    ).rejects.toMatchObject({ code: BugCheckCode.IRQL_UNEXPECTED_VALUE });
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.IRQL_UNEXPECTED_VALUE);
    expect(report.parameters[0]).toBe((Irql.HIGH_LEVEL << 16) | (Irql.DISPATCH_LEVEL << 8) | 2);
  });

  it('an exception escaping a DPC is KMODE_EXCEPTION_NOT_HANDLED and the host process survives', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const dpc = new Dpc(
      () => {
        throw new TypeError('undefined is not a function');
      },
      undefined,
      'BrokenDpc',
    );
    await kernel.insertQueueDpc(dpc);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED);
    expect(report.message).toMatch(/^exception 0xC0000005 \(STATUS_ACCESS_VIOLATION\) in BrokenDpc, .*TypeError/);
    expect(kernel.stopped).toBeInstanceOf(BugCheckError);
  });
});
