import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, DeviceRegisters, Dpc, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { makeRig, type Rig } from './fakes.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

const LINE = 11;
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

/** A rig whose ISR (DIRQL 5) settles `foreign` and then, still running, awaits a register read. */
function rigWithSettlingIsr() {
  rig = makeRig();
  const { kernel, device, lines } = rig;
  const regs = new DeviceRegisters(kernel, device);
  const foreign = deferred();
  kernel.connectInterrupt({
    line: LINE,
    irql: 5,
    isr: async () => {
      lines.set(LINE, false);
      foreign.resolve(); // the other routine's promise settles while this ISR still runs
      await regs.read32(0);
      return true;
    },
  });
  return { kernel, lines, regs, foreign };
}

// Windows: while an ISR or DPC runs on a processor, nothing else executes there. Code that awaited
// a promise the kernel does not control can resume in the middle of one; dirql stops it at its next
// kernel call, naming it.
describe('one owner per processor', () => {
  it('a PASSIVE thread that resumes from a non-kernel await while an ISR runs on its processor is stopped (0xC4, 0xE003), naming the thread and the ISR', async () => {
    const { kernel, lines, foreign } = rigWithSettlingIsr();
    let irqlSeen: number | undefined;
    const thread = kernel.runAtPassive('MiniportOidRequest', async () => {
      lines.set(LINE, true);
      await foreign.promise; // a helper's own promise, not kernel.wait()
      irqlSeen = kernel.currentIrql();
    });
    await expect(thread).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.RESUMED_OUTSIDE_KERNEL_WAIT, Irql.PASSIVE_LEVEL, 5, 0],
    });
    const report = await kernel.bugCheckReport;
    expect(report.api).toBe('KeGetCurrentIrql');
    expect(report.message).toMatch(/^MiniportOidRequest \(thread at PASSIVE_LEVEL\) called KeGetCurrentIrql while processor 0 was running ISR .* at DIRQL 5/);
    expect(irqlSeen).toBeUndefined();
  });

  it('a DPC that resumes from a non-kernel await while an ISR has nested on it is stopped (0xC4, 0xE003) at its next register access', async () => {
    const { kernel, lines, regs, foreign } = rigWithSettlingIsr();
    const dpc = new Dpc(
      async () => {
        lines.set(LINE, true);
        await foreign.promise;
        await regs.write32(0x10, 1);
      },
      undefined,
      'HandleRxDpc',
    );
    await kernel.runAtPassive('Queue', () => kernel.insertQueueDpc(dpc)).catch(() => undefined);
    const report = await kernel.bugCheckReport;
    expect(report.parameters).toEqual([VerifierViolation.RESUMED_OUTSIDE_KERNEL_WAIT, Irql.DISPATCH_LEVEL, 5, 0]);
    expect(report.api).toBe('WRITE_REGISTER_ULONG');
    expect(report.message).toMatch(/^HandleRxDpc \(DPC at DISPATCH_LEVEL\)/);
  });

  it('awaiting kernel waits stays legal: a thread whose register read is outstanding while an ISR runs resumes after it', async () => {
    rig = makeRig();
    const { kernel, device, lines } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const order: string[] = [];
    kernel.connectInterrupt({
      line: LINE,
      irql: 5,
      isr: async () => {
        lines.set(LINE, false);
        order.push('isr');
        await regs.read32(0);
        order.push('isr done');
        return true;
      },
    });
    await kernel.runAtPassive('Init', async () => {
      lines.set(LINE, true);
      await regs.read32(0);
      order.push('thread after read');
    });
    expect(order).toEqual(['isr', 'isr done', 'thread after read']);
    expect(kernel.stopped).toBeNull();
  });
});
