import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation, type DeviceRegisters } from '../../../src/kernel/index.ts';
import { BUGCODE_NDIS_DRIVER, Ndis6, NdisStatus, NdisViolation, type MiniportAdapter, type NdisInterrupt } from '../../../src/ndis/ndis6/index.ts';
import { CTRL, ICR, IMC, IMS, LINE, RXT0, makeKernelRig, type KernelRig } from './fakes.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';
import { frame, makeNdis6Rig, type Ndis6Rig } from './ndis6-miniport.ts';

const ROUTINE_BIT = 0x1;
const ISR_BIT = 0x100;

let rig: Ndis6Rig | undefined;
let krig: KernelRig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  await krig?.cleanup();
  rig = krig = undefined;
});

/**
 * The seeds' scenario: MiniportInterrupt sets a bit in CTRL (read-modify-write), and a lower-IRQL
 * routine does its own read-modify-write of CTRL while the NIC interrupts between its read and write.
 */
async function lostUpdateSetUp(processors = 1): Promise<{ ndis: Ndis6; adapter: MiniportAdapter; interrupt: () => NdisInterrupt; isrOrder: string[] }> {
  krig = makeKernelRig({ processors });
  const { kernel, nic } = krig;
  const ndis = new Ndis6(kernel);
  const isrOrder: string[] = [];
  let handle: NdisInterrupt | undefined;
  const driver = ndis.registerMiniportDriver({
    async initializeHandlerEx(adapterHandle, _c, init) {
      const regs = init.allocatedResources.registers;
      ndis.setMiniportAttributes(adapterHandle, { type: 'registration', miniportAdapterContext: regs });
      ndis.setMiniportAttributes(adapterHandle, {
        type: 'general',
        mtuSize: 1500,
        maxXmitLinkSpeed: 1e9,
        maxRcvLinkSpeed: 1e9,
        xmitLinkSpeed: 1e9,
        rcvLinkSpeed: 1e9,
        mediaConnectState: 1,
        mediaDuplexState: 2,
        supportedPacketFilters: 1,
        maxMulticastListSize: 0,
        permanentMacAddress: new Uint8Array(6),
        currentMacAddress: new Uint8Array(6),
      });
      handle = ndis.registerInterruptEx(adapterHandle, regs, {
        async interruptHandler() {
          const icr = await regs.read32(ICR);
          if (icr === 0) return { recognized: false, queueDefaultDpc: false };
          isrOrder.push(`isr at ${kernel.currentIrql()} on ${kernel.currentProcessor()}`);
          const ctrl = await regs.read32(CTRL);
          await regs.write32(CTRL, ctrl | ISR_BIT);
          return { recognized: true, queueDefaultDpc: false };
        },
        interruptDpcHandler() {},
      });
      await regs.write32(IMS, RXT0);
      return NdisStatus.SUCCESS;
    },
    async haltHandlerEx() {
      await ndis.deregisterInterruptEx(handle!);
    },
    sendNetBufferListsHandler() {},
    returnNetBufferListsHandler() {},
    oidRequestHandler: () => NdisStatus.NOT_SUPPORTED,
  });
  const adapter = await ndis.initializeMiniport(driver, { registers: nic, interrupt: { line: LINE } });
  nic.onceOnRead(CTRL, () => nic.raise(RXT0));
  return { ndis, adapter, interrupt: () => handle!, isrOrder };
}

/** The adapter's DeviceRegisters, which the test miniport gave as its interrupt context. */
function nicRegisters(kernel: KernelRig['kernel']): DeviceRegisters {
  return kernel.connectedInterrupts[0]!.context as DeviceRegisters;
}

describe('NDIS 6 interrupts (seed: MiniportSynchronizeInterrupt)', () => {
  it("NdisMSynchronizeWithInterruptEx returns the MiniportSynchronizeInterrupt's boolean", async () => {
    rig = makeNdis6Rig();
    const { ctx } = await rig.start();
    const { ndis, kernel } = rig;
    const results = await kernel.runAtPassive('SetFilter', async () => [
      await ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => true, null),
      await ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => false, null),
      await ndis.synchronizeWithInterruptEx(
        ctx.interrupt!,
        0,
        async () => {
          await ctx.regs.read32(CTRL);
          return true;
        },
        null,
      ),
    ]);
    expect(results).toEqual([true, false, true]);
  });

  it("MiniportSynchronizeInterrupt runs at the interrupt's DIRQL and receives its SynchronizeContext", async () => {
    rig = makeNdis6Rig({ irql: 7 });
    const { ctx } = await rig.start();
    const { ndis, kernel } = rig;
    const seen: unknown[] = [];
    await kernel.runAtPassive('SetFilter', () =>
      ndis.synchronizeWithInterruptEx(
        ctx.interrupt!,
        0,
        function MySynchronizeInterrupt(c) {
          seen.push(kernel.currentIrql(), c, kernel.current()!.routine);
          return true;
        },
        'the context',
      ),
    );
    expect(seen).toEqual([7, 'the context', 'MySynchronizeInterrupt']);
  });

  it("NdisMSynchronizeWithInterruptEx restores the caller's IRQL (PASSIVE_LEVEL and DISPATCH_LEVEL callers)", async () => {
    rig = makeNdis6Rig({ irql: 6 });
    const { ctx } = await rig.start();
    const { ndis, kernel } = rig;
    const after = await kernel.runAtPassive('Caller', async () => {
      const out: number[] = [];
      await ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => true);
      out.push(kernel.currentIrql());
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => true);
      out.push(kernel.currentIrql());
      await kernel.lowerIrql(old);
      return out;
    });
    expect(after).toEqual([Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL]);
  });

  it("a lower-IRQL routine touching ISR-shared registers without NdisMSynchronizeWithInterruptEx loses the ISR's update", async () => {
    const { isrOrder } = await lostUpdateSetUp();
    const { kernel, nic } = krig!;
    const order: string[] = [];
    await kernel.runAtPassive('MiniportOidRequest', async () => {
      const r = nicRegisters(kernel);
      const ctrl = await r.read32(CTRL);
      order.push('routine read');
      await r.write32(CTRL, ctrl | ROUTINE_BIT);
    });
    await kernel.quiesce();
    expect([...isrOrder, ...order]).toEqual(['isr at 5 on 0', 'routine read']);
    expect(nic.regs.get(CTRL)).toBe(ROUTINE_BIT);
  });

  it("the same read-modify-write inside NdisMSynchronizeWithInterruptEx keeps the ISR's update: the ISR waits for it", async () => {
    const { ndis, interrupt, isrOrder } = await lostUpdateSetUp();
    const { kernel, nic } = krig!;
    const order: string[] = [];
    await kernel.runAtPassive('MiniportOidRequest', async () => {
      const r = nicRegisters(kernel);
      await ndis.synchronizeWithInterruptEx(interrupt(), 0, async function SetCtrlBit() {
        const ctrl = await r.read32(CTRL);
        await r.write32(CTRL, ctrl | ROUTINE_BIT);
        order.push(`sync done at ${kernel.currentIrql()}`);
        return true;
      });
      order.push(...isrOrder.splice(0));
    });
    await kernel.quiesce();
    expect(order).toEqual(['sync done at 5', 'isr at 5 on 0']);
    expect(nic.regs.get(CTRL)).toBe(ROUTINE_BIT | ISR_BIT);
  });

  it('on two processors MiniportInterrupt spins on the other processor while MiniportSynchronizeInterrupt runs', async () => {
    const { ndis, interrupt, isrOrder } = await lostUpdateSetUp(2);
    const { kernel, nic } = krig!;
    nic.latency = 'macrotask';
    let otherProcessor = '';
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'MiniportOidRequest', async () => {
      const r = nicRegisters(kernel);
      await ndis.synchronizeWithInterruptEx(interrupt(), 0, async function SetCtrlBit() {
        const ctrl = await r.read32(CTRL);
        await kernel.stallExecutionProcessor(2000);
        otherProcessor = kernel.processors[1]!.running()
          .map((x) => `${x.name}:${x.state ?? ''}`)
          .join(',');
        await r.write32(CTRL, ctrl | ROUTINE_BIT);
        return true;
      });
    });
    await kernel.quiesce();
    expect(otherProcessor).toContain('spinning on');
    expect(isrOrder).toEqual(['isr at 5 on 1']);
    expect(nic.regs.get(CTRL)).toBe(ROUTINE_BIT | ISR_BIT);
  });

  it('MiniportSynchronizeInterrupt that runs too long is flagged by the verifier', async () => {
    rig = makeNdis6Rig({ verifier: { synchronizeTimeLimitUs: 200 } });
    const { ctx } = await rig.start();
    const { ndis, kernel } = rig;
    const err = await kernel
      .runAtPassive('SlowCaller', () =>
        ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, async function SlowSynchronize() {
          await kernel.stallExecutionProcessor(2000);
          return true;
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.SYNCHRONIZE_ROUTINE_TOO_LONG, expect.any(Number), 200, expect.any(Number)],
    });
    expect(kernel.verifier.findings[0]).toMatchObject({ routine: 'SlowSynchronize', limitUs: 200 });
  });

  it('MiniportInterrupt runs at DIRQL and MiniportInterruptDPC at DISPATCH_LEVEL on the processors TargetProcessors names', async () => {
    rig = makeNdis6Rig({ processors: 2, dpcTargets: 0b10 });
    const { ctx } = await rig.start();
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(ctx.events.find((e) => e.startsWith('isr'))).toMatch(/^isr at 5 on [01]$/);
    expect(ctx.events.filter((e) => e.startsWith('dpc'))).toEqual(['dpc at 2 on 1']);
    expect(rig.binding.frames).toHaveLength(1);
  });

  it('MiniportInterrupt with QueueDefaultInterruptDpc TRUE: NDIS ignores TargetProcessors and runs exactly one MiniportInterruptDPC, on the interrupted processor', async () => {
    rig = makeNdis6Rig({ processors: 2, dpcTargets: 0b11, queueDefaultDpcToo: true });
    const { ctx } = await rig.start();
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const isr = ctx.events.filter((e) => e.startsWith('isr'));
    expect(isr).toHaveLength(1);
    const on = isr[0]!.slice(-1);
    expect(ctx.events.filter((e) => e.startsWith('dpc'))).toEqual([`dpc at 2 on ${on}`]);
  });

  it('NdisMQueueDpcEx queues MiniportInterruptDPC on each target processor with the MiniportDpcContext', async () => {
    rig = makeNdis6Rig({ processors: 2 });
    const { ctx } = await rig.start();
    const queued = await rig.kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Queuer', async () => {
      const old = rig!.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      const mask = await rig!.ndis.queueDpcEx(ctx.interrupt!, 0, 0b11, 'dpc context');
      const again = await rig!.ndis.queueDpcEx(ctx.interrupt!, 0, 0b01, 'second');
      await rig!.kernel.lowerIrql(old);
      return [mask, again];
    });
    await rig.kernel.quiesce();
    expect(queued).toEqual([0b11, 0]);
    expect(ctx.events.filter((e) => e.startsWith('dpc')).sort()).toEqual(['dpc at 2 on 0', 'dpc at 2 on 1']);
    expect(ctx.dpcContexts).toEqual(['dpc context', 'dpc context']);
  });

  it('MiniportInterruptDPC is queued again while it reports MoreNblsPending (receive throttling)', async () => {
    rig = makeNdis6Rig({ maxNblsToIndicate: 2 });
    const { ctx } = await rig.start();
    for (let i = 0; i < 5; i++) ctx.rxQueue.push(frame(60, i));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.indications.map((i) => i.count)).toEqual([2, 2, 1]);
    expect(ctx.events.filter((e) => e.startsWith('isr'))).toHaveLength(1);
    expect(rig.binding.frames).toEqual([0, 1, 2, 3, 4].map((i) => frame(60, i)));
  });

  it('after NdisMDeregisterInterruptEx returns the ISR and DPC are never called, even a DPC queued when it was called', async () => {
    rig = makeNdis6Rig({ processors: 2, dpcTargets: 0b10 });
    const { adapter, ctx } = await rig.start();
    const { kernel, ndis, nic } = rig;
    let signal!: () => void;
    const dpcQueued = new Promise<void>((r) => {
      signal = r;
    });
    const busy = kernel.runOnProcessor(1, Irql.DISPATCH_LEVEL, 'BusyAtDispatch', async () => {
      await ndis.queueDpcEx(ctx.interrupt!, 0, 0b10, 'late');
      signal();
      await kernel.stallExecutionProcessor(20_000);
    });
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'Deregister', async () => {
      await kernel.wait(dpcQueued, 'the DPC to be queued');
      await ndis.deregisterInterruptEx(ctx.interrupt!);
    });
    await busy;
    await kernel.quiesce();
    const marker = connectMarkerIsr(kernel, LINE, () => nic.write32(IMC, 0xffffffff));
    nic.write32(IMS, 0xffffffff);
    nic.raise(RXT0);
    await kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(ctx.events.filter((e) => e.startsWith('isr') || e.startsWith('dpc'))).toEqual([]);
    expect(adapter.interrupt).toBeNull();
  });

  it('NdisMSynchronizeWithInterruptEx and NdisMQueueDpcEx with a deregistered interrupt are BUGCODE_NDIS_DRIVER (invalid handle)', async () => {
    rig = makeNdis6Rig();
    const { ctx } = await rig.start();
    const { kernel, ndis } = rig;
    await kernel.runAtPassive('Deregister', () => ndis.deregisterInterruptEx(ctx.interrupt!));
    const err = await kernel.runAtPassive('Late', () => ndis.synchronizeWithInterruptEx(ctx.interrupt!, 0, () => true)).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.INVALID_HANDLE, expect.any(Number), ctx.interrupt!.id, 0],
      report: { api: 'NdisMSynchronizeWithInterruptEx' },
    });
  });
});

describe('NDIS 6 interrupts on a shared line, and what a crash report shows', () => {
  it("MiniportInterrupt that returns recognized=false lets the other device's ISR on the line claim the interrupt", async () => {
    rig = makeNdis6Rig();
    const { ctx } = await rig.start();
    let other = 0;
    rig.kernel.connectInterrupt({
      line: LINE,
      name: 'OtherDeviceIsr',
      isr: () => {
        other++;
        rig!.lines.set(LINE, false);
        return true;
      },
    });
    rig.lines.set(LINE, true);
    await rig.kernel.quiesce();
    expect(other).toBe(1);
    expect(ctx.events.filter((e) => e.startsWith('isr') || e.startsWith('dpc'))).toEqual([]);
  });

  it('a wrong-IRQL call made during a receive indication is reported with the API, DISPATCH_LEVEL and the DPC it ran in', async () => {
    rig = makeNdis6Rig();
    const { ctx } = await rig.start();
    ctx.rxQueue.push(frame(60));
    rig.binding.receiveNetBufferLists = () => rig!.ndis.sleep(10);
    rig.nic.raise(RXT0);
    const report = await rig.kernel.bugCheckReport;
    expect(report).toMatchObject({
      code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
      parameters: [VerifierViolation.DDI_AT_WRONG_IRQL, Irql.DISPATCH_LEVEL, 0, 0],
      api: 'NdisMSleep',
      irqlName: 'DISPATCH_LEVEL',
    });
    expect(report.routines.map((r) => r.name)).toEqual(['DPC queue', 'TestInterruptDpc']);
  });
});
