import { readFile, readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BugCheckCode,
  BugCheckError,
  CLOCK_TICK_MS,
  DeviceRegisters,
  Dpc,
  Irql,
  SpinLock,
  TraceBuffer,
  VerifierViolation,
  type BugCheckReport,
} from '../../../src/kernel/index.ts';
import { DriverStoppedError } from '../../../src/kernel/errors.ts';
import { ICR, makeRig, type Rig } from './fakes.ts';
import { waitUntil } from '../../support/wait.ts';

let rig: Rig;
afterEach(async () => rig?.cleanup());

describe('bug checks', () => {
  it('writes a JSON and a readable report with code, parameters, processor, IRQL, nested routines, JS stacks and the trace tail', async () => {
    rig = makeRig({ trace: new TraceBuffer(16), limits: { traceTail: 8 } });
    const { kernel, device, dir } = rig;
    const regs = new DeviceRegisters(kernel, device, { name: 'nic', registerName: (o) => (o === 0x8 ? 'STATUS' : undefined) });
    const interrupt = kernel.connectInterrupt({ line: 11, irql: 5, name: 'NicIsr', isr: () => false });
    const run = kernel.runAtPassive('MiniportOidRequest', async () => {
      await regs.read32(0x8);
      await kernel.synchronizeExecution(interrupt, async function NicSync() {
        kernel.requireIrql('NdisMIndicateStatusEx', Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
        return true;
      });
    });
    await expect(run).rejects.toBeInstanceOf(BugCheckError);
    const report = await kernel.bugCheckReport;
    expect(report).toMatchObject({
      code: 0xc4,
      name: 'DRIVER_VERIFIER_DETECTED_VIOLATION',
      parameters: [0xe5, 5, 0, 0],
      api: 'NdisMIndicateStatusEx',
      processor: 0,
      irql: 5,
      irqlName: 'DIRQL 5',
    });
    expect(report.routines.map((r) => [r.kind, r.name, r.irql])).toEqual([
      ['thread', 'MiniportOidRequest', 0],
      ['call', 'NicSync', 5],
    ]);
    expect(report.stacks[0]!.stack).toContain('NicSync');
    expect(report.trace.some((e) => e.kind === 'mmio-rd' && e.detail.includes('nic.STATUS(0x8)') && e.detail.includes('MiniportOidRequest'))).toBe(true);
    expect(report.trace.length).toBeLessThanOrEqual(8);

    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^bugcheck-.*\.json$/);
    expect(files[1]).toMatch(/^bugcheck-.*\.txt$/);
    const json = JSON.parse(await readFile(`${dir}/${files[0]}`, 'utf8')) as BugCheckReport;
    expect(json.code).toBe(0xc4);
    expect(json.routines).toHaveLength(2);
    const text = await readFile(`${dir}/${files[1]}`, 'utf8');
    expect(text).toContain('DRIVER_VERIFIER_DETECTED_VIOLATION (c4)');
    expect(text).toContain('Arg1: 0xE5');
    expect(text).toContain('Arg2: 0x5');
    expect(text).toContain('API: NdisMIndicateStatusEx');
    expect(text).toContain('NicSync');
    expect(report.files).toEqual({ json: `${dir}/${files[0]}`, text: `${dir}/${files[1]}` });
  });

  it('stops the driver: later calls are refused, interrupts are disconnected, queued DPCs dropped, and it emits bugcheck', async () => {
    rig = makeRig({ processors: 2 });
    const { kernel, device } = rig;
    let isrCalls = 0;
    let dpcRuns = 0;
    const events: number[] = [];
    kernel.on('bugcheck', (r: BugCheckReport) => events.push(r.code));
    kernel.connectInterrupt({
      line: 11,
      isr: () => {
        isrCalls++;
        return false;
      },
    });
    const dpc = new Dpc(() => {
      dpcRuns++;
    });
    dpc.setTargetProcessor(1);
    const busy = kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'HoldsProcessor1', async () => {
      await kernel.insertQueueDpc(dpc);
      await kernel.stallExecutionProcessor(10_000);
    });
    await expect(kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Crash', () => kernel.bugCheck(BugCheckCode.WDF_VIOLATION, 1, 2, 3, 4))).rejects.toMatchObject({
      code: BugCheckCode.WDF_VIOLATION,
      parameters: [1, 2, 3, 4],
    });
    await expect(busy).rejects.toBeInstanceOf(BugCheckError);
    await expect(kernel.runAtPassive('MiniportHalt', () => 1)).rejects.toBeInstanceOf(DriverStoppedError);
    device.raise(0x80);
    await kernel.quiesce();
    expect(isrCalls).toBe(0);
    expect(dpcRuns).toBe(0);
    expect(events).toEqual([BugCheckCode.WDF_VIOLATION]);
    expect(kernel.connectedInterrupts).toEqual([]);
  });

  it('the first bug check wins: a routine that catches it and goes on meets the same error at its next kernel call', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const second = await kernel
      .runAtPassive('Stubborn', async () => {
        try {
          kernel.bugCheck(BugCheckCode.WDF_VIOLATION);
        } catch {
          /* the driver ignores it */
        }
        return regs.read32(0).then(
          () => 'continued',
          (e: unknown) => e,
        );
      })
      .catch((e: unknown) => e);
    expect(second).toBe(kernel.stopped);
    expect(kernel.stopped?.code).toBe(BugCheckCode.WDF_VIOLATION);
  });

  it('a bug check inside an ISR taken by an idle processor does not become an unhandled rejection', async () => {
    rig = makeRig();
    const { kernel, device } = rig;
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const lock = new SpinLock(kernel);
      kernel.connectInterrupt({
        line: 11,
        isr: async () => {
          await lock.acquire();
          return true;
        },
      });
      device.raise(0x80);
      const report = await kernel.bugCheckReport;
      // The positive control: the ISR's activation has unwound on every processor, so the service
      // loop that ran it has settled; a turn later Node has reported any rejection left unhandled.
      await waitUntil('the ISR activation to unwind', () => kernel.processors.every((P) => P.nested.length === 0));
      await new Promise((r) => setImmediate(r));
      expect(report.code).toBe(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION);
      expect(report.parameters[0]).toBe(VerifierViolation.ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('an exception escaping a thread routine is SYSTEM_THREAD_EXCEPTION_NOT_HANDLED with the cause kept', async () => {
    rig = makeRig();
    const { kernel } = rig;
    const boom = new Error('descriptor ring not allocated');
    const err = await kernel
      .runAtPassive('MiniportInitializeEx', () => {
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BugCheckError);
    expect((err as BugCheckError).code).toBe(BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED);
    expect((err as BugCheckError).cause).toBe(boom);
    expect((err as BugCheckError).report.stacks.some((s) => s.label.includes('descriptor ring not allocated'))).toBe(true);
  });
});

describe('DPC watchdog', () => {
  it('a single DPC running past the limit is DPC_WATCHDOG_VIOLATION with parameter 1 = 0', async () => {
    rig = makeRig({ limits: { dpcTimeLimitMs: 20 } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const dpc = new Dpc(
      async () => {
        for (;;) await regs.read32(0).then(() => kernel.stallExecutionProcessor(2000));
      },
      undefined,
      'PollingDpc',
    );
    await kernel.insertQueueDpc(dpc);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DPC_WATCHDOG_VIOLATION);
    expect(report.parameters[0]).toBe(0);
    expect(report.parameters[1]).toBeGreaterThan(Math.ceil(20 / CLOCK_TICK_MS) - 1);
    expect(report.parameters[2]).toBe(Math.ceil(20 / CLOCK_TICK_MS));
    expect(report.message).toContain('PollingDpc');
  });

  it('time the host spends stopped (a breakpoint, SIGSTOP) does not count toward the DPC watchdog, as Windows counts only time the processor ran', async () => {
    rig = makeRig({ limits: { dpcTimeLimitMs: 300 } });
    const { kernel } = rig;
    let finished!: () => void;
    const done = new Promise<void>((r) => {
      finished = r;
    });
    await kernel.insertQueueDpc(
      new Dpc(
        async () => {
          // The thread stops without using the CPU, as it does at a breakpoint.
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
          await kernel.stallExecutionProcessor(10);
          finished();
        },
        undefined,
        'BreakpointDpc',
      ),
    );
    await done;
    expect(kernel.stopped).toBeNull();
  });

  it('time a DPC spends computing counts toward the DPC watchdog even when nothing reached a check meanwhile', async () => {
    rig = makeRig({ limits: { dpcTimeLimitMs: 300 } });
    const { kernel } = rig;
    await kernel.insertQueueDpc(
      new Dpc(
        async () => {
          const end = performance.now() + 1000;
          while (performance.now() < end) {
            /* busy, as a DPC in a tight loop */
          }
          await kernel.stallExecutionProcessor(10);
        },
        undefined,
        'BusyDpc',
      ),
    );
    const report = await kernel.bugCheckReport;
    expect(report).toMatchObject({ code: BugCheckCode.DPC_WATCHDOG_VIOLATION, parameters: [0, expect.any(Number), Math.ceil(300 / CLOCK_TICK_MS), 0] });
    expect(report.message).toContain('BusyDpc');
  });

  it("the DPC watchdog defaults to Windows' limits: 20 s for one DPC (1280 ticks), 120 s at DISPATCH_LEVEL (7680 ticks)", () => {
    rig = makeRig();
    expect(rig.kernel.limits).toMatchObject({ dpcTimeLimitMs: 20_000, dispatchTimeLimitMs: 120_000 });
    expect([20_000 / CLOCK_TICK_MS, 120_000 / CLOCK_TICK_MS]).toEqual([1280, 7680]);
  });

  it("the verifier's short DPC watchdog limits apply unless the kernel is given its own", () => {
    rig = makeRig({ verifier: { dpcTimeLimitMs: 1000, dispatchTimeLimitMs: 5000 } });
    expect(rig.kernel.limits).toMatchObject({ dpcTimeLimitMs: 1000, dispatchTimeLimitMs: 5000 });
  });

  it('a series of DPCs keeping the processor at DISPATCH_LEVEL past the limit is DPC_WATCHDOG_VIOLATION with parameter 1 = 1', async () => {
    rig = makeRig({ limits: { dpcTimeLimitMs: 1000, dispatchTimeLimitMs: 50 } });
    const { kernel } = rig;
    let runs = 0;
    const dpc: Dpc = new Dpc(
      async () => {
        runs++;
        await kernel.stallExecutionProcessor(100);
        await kernel.insertQueueDpc(dpc);
      },
      undefined,
      'RequeueingDpc',
    );
    await kernel.insertQueueDpc(dpc);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DPC_WATCHDOG_VIOLATION);
    expect(report.parameters).toEqual([1, Math.ceil(50 / CLOCK_TICK_MS), 0, 0]);
    expect(runs).toBeGreaterThan(1);
  });

  it('a DPC stuck in an await the kernel does not control is caught by the watchdog timer', async () => {
    rig = makeRig({ limits: { dpcTimeLimitMs: 20 } });
    const { kernel } = rig;
    await kernel.insertQueueDpc(new Dpc(() => new Promise<void>(() => undefined), undefined, 'HungDpc'));
    const report = await kernel.bugCheckReport;
    expect(report).toMatchObject({ code: BugCheckCode.DPC_WATCHDOG_VIOLATION, processor: 0 });
    expect(report.routines.map((r) => r.name)).toEqual(['DPC queue', 'HungDpc']);
  });
});

describe('verifier', () => {
  it('flags an ISR that runs too long (0xC4, 0xE001)', async () => {
    rig = makeRig({ verifier: { isrTimeLimitUs: 20_000 } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const interrupt = kernel.connectInterrupt({
      line: 11,
      name: 'SlowIsr',
      isr: async () => {
        await kernel.stallExecutionProcessor(60_000);
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    const report = await kernel.bugCheckReport;
    expect(report.code).toBe(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION);
    expect(report.parameters[0]).toBe(VerifierViolation.ISR_TOO_LONG);
    expect(report.parameters[1]).toBeGreaterThanOrEqual(60_000);
    expect(report.parameters.slice(2)).toEqual([20_000, interrupt.id]);
    expect(report.message).toContain('SlowIsr');
  });

  it('flags a synchronize callback that runs too long (0xC4, 0xE002)', async () => {
    rig = makeRig({ verifier: { synchronizeTimeLimitUs: 20_000 } });
    const { kernel } = rig;
    const interrupt = kernel.connectInterrupt({ line: 11, isr: () => false });
    await expect(
      kernel.runAtPassive('r', () =>
        kernel.synchronizeExecution(interrupt, async function SlowSync() {
          await kernel.stallExecutionProcessor(60_000);
          return true;
        }),
      ),
    ).rejects.toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.SYNCHRONIZE_ROUTINE_TOO_LONG, expect.any(Number), 20_000, interrupt.id],
    });
  });

  it('does not flag quick ISRs and synchronize callbacks', async () => {
    rig = makeRig({ verifier: { isrTimeLimitUs: 20_000, synchronizeTimeLimitUs: 20_000 } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const interrupt = kernel.connectInterrupt({ line: 11, isr: async () => (await regs.read32(ICR)) !== 0 });
    device.raise(0x80);
    await kernel.quiesce();
    await kernel.runAtPassive('r', () => kernel.synchronizeExecution(interrupt, () => true));
    expect(kernel.stopped).toBeNull();
    expect(kernel.verifier.findings).toEqual([]);
    expect(interrupt.recognized).toBe(1);
  });

  it("in 'record' mode collects findings and emits them without stopping the driver", async () => {
    rig = makeRig({ verifier: { isrTimeLimitUs: 1000, action: 'record' } });
    const { kernel, device } = rig;
    const regs = new DeviceRegisters(kernel, device);
    const emitted: unknown[] = [];
    kernel.on('verifier', (f) => emitted.push(f));
    kernel.connectInterrupt({
      line: 11,
      name: 'SlowIsr',
      isr: async () => {
        await kernel.stallExecutionProcessor(5000);
        return (await regs.read32(ICR)) !== 0;
      },
    });
    device.raise(0x80);
    await kernel.quiesce();
    expect(kernel.stopped).toBeNull();
    expect(kernel.verifier.findings).toHaveLength(1);
    expect(kernel.verifier.findings[0]).toMatchObject({ violation: VerifierViolation.ISR_TOO_LONG, routine: 'SlowIsr', limitUs: 1000 });
    expect(emitted).toEqual(kernel.verifier.findings);
  });
});
