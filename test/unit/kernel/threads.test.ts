import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, DeviceRegisters, Dpc, Irql, TraceBuffer, VerifierViolation } from '../../../src/kernel/index.ts';
import { KernelContextError } from '../../../src/kernel/errors.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('thread calls and waits', () => {
  it('a thread waiting in kernel.wait gives up its processor: another routine runs there at DISPATCH_LEVEL meanwhile', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const order: string[] = [];
    let release!: () => void;
    const event = new Promise<void>((r) => {
      release = r;
    });
    const waiter = kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportPause', async () => {
      order.push('pause waits');
      await kernel.wait(event, 'outstanding sends');
      order.push('pause resumes');
    });
    await kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'MiniportReturnNetBufferLists', () => {
      order.push('return at DISPATCH');
      release();
    });
    await waiter;
    expect(order).toEqual(['pause waits', 'return at DISPATCH', 'pause resumes']);
  });

  it("waiting at DISPATCH_LEVEL is Driver Verifier's 0xC4/0x3B, a wait at DISPATCH_LEVEL or above", async () => {
    rig = makeRig();
    const { kernel } = rig;
    await expect(
      kernel.runAtPassive('r', async () => {
        kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await kernel.delayExecution(1);
      }),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.WAIT_AT_DISPATCH_OR_ABOVE, Irql.DISPATCH_LEVEL, 0, 0],
      report: { api: 'KeWaitForSingleObject' },
    });
  });

  it('a thread call started at DISPATCH_LEVEL waits until no other thread holds the processor raised', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    const first = kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'First', async () => {
      order.push('first in');
      for (let i = 0; i < 3; i++) await regs.read32(0);
      order.push('first out');
    });
    const second = kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'Second', () => {
      order.push('second');
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
  });

  it('lowering below the IRQL a DPC was entered at is a bug check (0xC4, 0x31, P4 = 1)', async () => {
    rig = makeRig();
    const { kernel } = rig;
    await kernel.insertQueueDpc(new Dpc(() => kernel.lowerIrql(Irql.PASSIVE_LEVEL)));
    const report = await kernel.bugCheckReport;
    expect(report.parameters).toEqual([VerifierViolation.LOWER_IRQL_INVALID, Irql.DISPATCH_LEVEL, Irql.PASSIVE_LEVEL, 1]);
  });

  it('a thread may lower below the IRQL it was entered at (Windows checks that only for DPCs); returning there is 0xC8', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const seen = await kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'MiniportSendNetBufferLists', async () => {
      await kernel.lowerIrql(Irql.PASSIVE_LEVEL);
      const low = kernel.currentIrql();
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      return low;
    });
    expect(seen).toBe(Irql.PASSIVE_LEVEL);
    expect(kernel.stopped).toBeNull();
    await expect(kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'Leaky', () => kernel.lowerIrql(Irql.PASSIVE_LEVEL))).rejects.toMatchObject({
      code: BugCheckCode.IRQL_UNEXPECTED_VALUE,
    });
  });

  it('callRoutine shows a driver callback in the chain of routines and checks it returns at its IRQL', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const chain = await kernel.runAtPassive('NdisCall', () => kernel.callRoutine('MiniportCheckForHang', () => kernel.processors[0]!.running().map((r) => r.name)));
    expect(chain).toEqual(['NdisCall', 'MiniportCheckForHang']);
    await expect(
      kernel.runAtPassive('NdisCall', () =>
        kernel.callRoutine('Leaky', () => {
          kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        }),
      ),
    ).rejects.toMatchObject({ code: BugCheckCode.IRQL_UNEXPECTED_VALUE });
  });

  it('work a routine left running after it returned cannot call the kernel', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let leaked!: Promise<unknown>;
    // Not an absence check: the timer is the non-kernel work the routine leaves behind on purpose.
    await kernel.runAtPassive('r', () => {
      leaked = sleep(5).then(() => kernel.currentIrql());
    });
    await expect(leaked).rejects.toBeInstanceOf(KernelContextError);
  });

  it('a thread that resumes from a non-kernel await while another thread holds its only processor raised is stopped (0xC4, 0xE003) at its next kernel call', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let held!: () => void;
    const holderRunning = new Promise<void>((r) => {
      held = r;
    });
    const rogue = kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Rogue', async () => {
      await holderRunning; // not kernel.wait(): the kernel cannot keep it off the busy processor
      kernel.raiseIrql(Irql.DISPATCH_LEVEL);
    });
    const holder = kernel
      .runOnProcessor(0, Irql.DISPATCH_LEVEL, 'Holder', async () => {
        held();
        await kernel.stallExecutionProcessor(30_000);
      })
      .catch((e: unknown) => e);
    await expect(rogue).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.RESUMED_OUTSIDE_KERNEL_WAIT, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL, 0],
      report: {
        api: 'KeRaiseIrql',
        message: expect.stringMatching(/^Rogue \(thread at PASSIVE_LEVEL\) called KeRaiseIrql while processor 0 was running thread Holder at DISPATCH_LEVEL/),
      },
    });
    await holder;
  });

  it('with an idle processor such a thread is only descheduled: Windows runs it on the idle one', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel } = rig;
    let held!: () => void;
    const holderRunning = new Promise<void>((r) => {
      held = r;
    });
    let rogue!: Promise<number[]>;
    const inside = new Promise<void>((entered) => {
      rogue = kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Rogue', async () => {
        const before = kernel.currentProcessor();
        entered();
        await holderRunning;
        const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        const after = kernel.currentProcessor();
        await kernel.lowerIrql(old);
        return [before, after];
      });
    });
    await inside;
    const holder = kernel.runOnProcessor(0, Irql.DISPATCH_LEVEL, 'Holder', async () => {
      held();
      await kernel.stallExecutionProcessor(30_000);
    });
    expect(await rogue).toEqual([0, 1]);
    await holder;
  });

  it('idle() resolves once no thread, ISR or DPC runs', async () => {
    rig = makeRig();
    const { kernel } = rig;
    let done = false;
    void kernel.runAtPassive('Slow', async () => {
      await kernel.delayExecution(10);
      await kernel.insertQueueDpc(
        new Dpc(() => {
          done = true;
        }),
      );
    });
    await kernel.idle();
    expect(done).toBe(true);
  });
});

describe('trace buffer', () => {
  it('keeps the last N events, oldest first', () => {
    const t = new TraceBuffer(3);
    for (let i = 0; i < 5; i++) t.record('mmio-wr', `w${i}`, 0);
    expect(t.tail().map((e) => e.detail)).toEqual(['w2', 'w3', 'w4']);
    expect(t.tail(2).map((e) => e.detail)).toEqual(['w3', 'w4']);
    expect(t.size).toBe(3);
  });

  it('records register accesses with routine and processor, and interrupt line changes', async () => {
    rig = makeRig();
    const { kernel, device, lines } = rig;
    const regs = new DeviceRegisters(kernel, device, { name: 'nic' });
    kernel.connectInterrupt({
      line: 11,
      isr: () => {
        lines.set(11, false);
        return true;
      },
    });
    await kernel.runAtPassive('Init', async () => {
      await regs.write32(0x10, 0xab);
    });
    lines.set(11, true);
    await kernel.quiesce();
    lines.set(0, true); // a line nobody connected (the PIT) is not traced
    const kinds = kernel.trace.tail().map((e) => `${e.kind} ${e.detail}`);
    expect(kinds).toContain('mmio-wr nic[0x10] <- 0xab by Init');
    expect(kinds).toContain('irq line 11 raised');
    expect(kinds).toContain('isr line 11 taken at DIRQL 5');
    expect(kinds.some((k) => k.includes('line 0'))).toBe(false);
  });
});
