import { afterEach, describe, expect, it } from 'vitest';
import { BugCheckCode, Irql, VerifierViolation } from '../../../src/kernel/index.ts';
import { BUGCODE_NDIS_DRIVER, Ndis5, NdisOperationError, NdisStatus, NdisViolation } from '../../../src/ndis/ndis5/index.ts';
import { CTRL, IMC, IMS, LINE, RXT0, makeKernelRig } from './fakes.ts';
import { connectMarkerIsr } from '../../support/marker-isr.ts';
import { makeNdis5Rig, type Ndis5Rig } from './ndis5-miniport.ts';

let rig: Ndis5Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

const handleEvents = (events: string[]) => events.filter((e) => /^(isr|disable|handle|enable|take)/.test(e));

describe('NDIS 5 interrupts (seeds: MiniportHandleInterrupt, NdisMSynchronizeWithInterrupt)', () => {
  it('without RequestIsr on a line not shared, NDIS calls MiniportDisableInterrupt at DIRQL on each interrupt, then MiniportHandleInterrupt at DISPATCH_LEVEL', async () => {
    rig = makeNdis5Rig({ requestIsr: false });
    const { ctx } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(handleEvents(ctx.events)).toEqual(['disable at 5 on 0', 'handle at 2 on 0', 'take causes at 5 on 0', 'disable at 5 on 0', 'handle at 2 on 0', 'take causes at 5 on 0']);
    expect(ctx.isrCalls).toBe(0);
  });

  it('with RequestIsr NDIS calls MiniportISR at DIRQL and queues MiniportHandleInterrupt as it asks', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(handleEvents(ctx.events)).toEqual(['isr at 5 on 0', 'handle at 2 on 0', 'take causes at 5 on 0']);
  });

  it('MiniportHandleInterrupt is called only if MiniportISR set QueueMiniportHandleInterrupt (shared line)', async () => {
    rig = makeNdis5Rig({ sharedInterrupt: true, noDpcOnIsrCalls: [1] });
    const { ctx } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const afterFirst = handleEvents(ctx.events);
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(afterFirst).toEqual(['isr at 5 on 0 no dpc']);
    expect(handleEvents(ctx.events)).toEqual(['isr at 5 on 0 no dpc', 'isr at 5 on 0', 'handle at 2 on 0', 'take causes at 5 on 0']);
    expect(ctx.events.some((e) => e.startsWith('disable'))).toBe(false);
  });

  it("on a shared line MiniportISR is used even without RequestIsr, and another device's interrupt is left to its own ISR", async () => {
    rig = makeNdis5Rig({ sharedInterrupt: true, requestIsr: false });
    const { ctx } = await rig.start();
    let otherCalls = 0;
    rig.kernel.connectInterrupt({
      line: LINE,
      name: 'OtherDeviceIsr',
      isr: () => {
        otherCalls++;
        rig!.lines.set(LINE, false);
        return true;
      },
    });
    rig.lines.set(LINE, true);
    await rig.kernel.quiesce();
    expect(ctx.events.filter((e) => e.startsWith('isr'))).toEqual(['isr not mine at 5 on 0']);
    expect(otherCalls).toBe(1);
    expect(ctx.events.some((e) => e.startsWith('handle') || e.startsWith('disable'))).toBe(false);
  });

  it('NdisMRegisterInterrupt refuses a shared interrupt for a miniport without MiniportISR', async () => {
    const k = makeKernelRig();
    try {
      const ndis = new Ndis5(k.kernel);
      let refused: unknown;
      const driver = ndis.registerMiniport({
        initializeHandler(h) {
          ndis.setAttributesEx(h, null);
          try {
            ndis.registerInterrupt(h, { requestIsr: false, sharedInterrupt: true });
          } catch (e) {
            refused = e;
            return (e as NdisOperationError).status;
          }
          return NdisStatus.SUCCESS;
        },
        haltHandler() {},
        sendPacketsHandler() {},
        queryInformationHandler: () => 0,
        setInformationHandler: () => 0,
        handleInterruptHandler() {},
        disableInterruptHandler() {},
      });
      await expect(ndis.initializeMiniport(driver, { registers: k.nic, interrupt: { line: LINE } })).rejects.toMatchObject({ status: NdisStatus.BAD_CHARACTERISTICS });
      expect(refused).toBeInstanceOf(NdisOperationError);
      expect((refused as Error).message).toMatch(/shared interrupt needs MiniportISR/);
    } finally {
      await k.cleanup();
    }
  });

  it("MiniportHandleInterrupt can re-enable the NIC's interrupts", async () => {
    rig = makeNdis5Rig({ requestIsr: true, withEnableHandler: false });
    const { ctx } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.nic.mask & RXT0).toBe(RXT0);
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(ctx.events.filter((e) => e.startsWith('handle'))).toHaveLength(2);
    expect(ctx.events.some((e) => e.startsWith('enable'))).toBe(false);
  });

  it('with MiniportEnableInterrupt, NDIS re-enables the NIC after MiniportHandleInterrupt returns, at DIRQL', async () => {
    rig = makeNdis5Rig({ requestIsr: false, withEnableHandler: true });
    const { ctx } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(handleEvents(ctx.events)).toEqual(['disable at 5 on 0', 'handle at 2 on 0', 'take causes at 5 on 0', 'enable at 5 on 0']);
    expect(rig.nic.mask & RXT0).toBe(RXT0);
  });

  it("NdisMSynchronizeWithInterrupt returns the function's boolean and runs it at DIRQL", async () => {
    rig = makeNdis5Rig();
    const { ctx } = await rig.start();
    const seen: number[] = [];
    const results = await rig.kernel.runAtPassive('Caller', async () => [
      await rig!.ndis.synchronizeWithInterrupt(ctx.interrupt!, () => {
        seen.push(rig!.kernel.currentIrql());
        return true;
      }),
      await rig!.ndis.synchronizeWithInterrupt(ctx.interrupt!, () => false),
    ]);
    expect(results).toEqual([true, false]);
    expect(seen).toEqual([5]);
  });

  it("NdisMSynchronizeWithInterrupt restores the caller's IRQL", async () => {
    rig = makeNdis5Rig();
    const { ctx } = await rig.start();
    const k = rig.kernel;
    const irqls = await k.runAtPassive('Caller', async () => {
      const out: number[] = [];
      await rig!.ndis.synchronizeWithInterrupt(ctx.interrupt!, () => true);
      out.push(k.currentIrql());
      const old = k.raiseIrql(Irql.DISPATCH_LEVEL);
      await rig!.ndis.synchronizeWithInterrupt(ctx.interrupt!, () => true);
      out.push(k.currentIrql());
      await k.lowerIrql(old);
      return out;
    });
    expect(irqls).toEqual([Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL]);
  });

  it('NdisMSynchronizeWithInterrupt excludes MiniportDisableInterrupt (two processors: it spins until the function returns)', async () => {
    rig = makeNdis5Rig({ processors: 2, requestIsr: false });
    const { ctx } = await rig.start();
    const { kernel, nic, ndis } = rig;
    nic.latency = 'macrotask';
    const order: string[] = [];
    let spinning = '';
    await kernel.runOnProcessor(0, Irql.PASSIVE_LEVEL, 'SetFilter', () =>
      ndis.synchronizeWithInterrupt(ctx.interrupt!, async function SetFilterSync() {
        order.push('sync start');
        nic.raise(RXT0);
        await kernel.stallExecutionProcessor(3000);
        spinning = kernel.processors[1]!.running()
          .map((r) => r.state ?? '')
          .join(',');
        order.push(`sync end, disable calls so far ${ctx.events.filter((e) => e.startsWith('disable')).length}`);
        return true;
      }),
    );
    await kernel.quiesce();
    order.push(...ctx.events.filter((e) => e.startsWith('disable')));
    expect(spinning).toContain('spinning on');
    expect(order).toEqual(['sync start', 'sync end, disable calls so far 0', 'disable at 5 on 1']);
  });

  it('NdisMSynchronizeWithInterrupt excludes MiniportISR (one processor: the interrupt waits for the function)', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig.start();
    const { kernel, nic, ndis } = rig;
    const order: string[] = [];
    await kernel.runAtPassive('SetFilter', async () => {
      await ndis.synchronizeWithInterrupt(ctx.interrupt!, async function SetFilterSync() {
        nic.raise(RXT0);
        await ctx.regs.read32(CTRL);
        order.push(`sync done, isr calls ${ctx.isrCalls}`);
        return true;
      });
      await ctx.regs.read32(CTRL);
      order.push(`after, isr calls ${ctx.isrCalls}`);
    });
    expect(order).toEqual(['sync done, isr calls 0', 'after, isr calls 1']);
  });

  it('a DISPATCH_LEVEL routine rewriting the interrupt mask without NdisMSynchronizeWithInterrupt undoes MiniportDisableInterrupt', async () => {
    rig = makeNdis5Rig({ requestIsr: false });
    const { ctx } = await rig.start();
    const { kernel, nic } = rig;
    const maskAtEnd = await kernel.runAtPassive('SetMask', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      nic.onceOnRead(IMS, () => nic.raise(RXT0));
      const mask = await ctx.regs.read32(IMS);
      await ctx.regs.write32(IMS, mask | 0x1);
      const m = nic.mask;
      await kernel.lowerIrql(old);
      return m;
    });
    await kernel.quiesce();
    // MiniportDisableInterrupt masked the NIC; the routine wrote the old mask back, so the NIC
    // interrupted again before MiniportHandleInterrupt could run.
    expect(ctx.events.filter((e) => e.startsWith('disable') || e.startsWith('handle'))).toEqual(['disable at 5 on 0', 'disable at 5 on 0', 'handle at 2 on 0']);
    expect(maskAtEnd).toBe(0);
  });

  it('the same mask rewrite inside NdisMSynchronizeWithInterrupt keeps the NIC disabled until MiniportHandleInterrupt', async () => {
    rig = makeNdis5Rig({ requestIsr: false });
    const { ctx } = await rig.start();
    const { kernel, nic, ndis } = rig;
    const maskAtEnd = await kernel.runAtPassive('SetMask', async () => {
      const old = kernel.raiseIrql(Irql.DISPATCH_LEVEL);
      await ndis.synchronizeWithInterrupt(ctx.interrupt!, async function SetMaskSync() {
        nic.onceOnRead(IMS, () => nic.raise(RXT0));
        const mask = await ctx.regs.read32(IMS);
        await ctx.regs.write32(IMS, mask | 0x1);
        return true;
      });
      const m = nic.mask;
      await kernel.lowerIrql(old);
      return m;
    });
    await kernel.quiesce();
    expect(maskAtEnd).toBe(0);
    expect(ctx.events.filter((e) => e.startsWith('disable') || e.startsWith('handle'))).toEqual(['disable at 5 on 0', 'handle at 2 on 0']);
  });

  it('after NdisMDeregisterInterrupt returns the ISR and MiniportHandleInterrupt are never called', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig.start();
    await rig.kernel.runAtPassive('Halt', () => rig!.ndis.deregisterInterrupt(ctx.interrupt!));
    const marker = connectMarkerIsr(rig.kernel, LINE, () => rig!.nic.write32(IMC, 0xffffffff));
    rig.nic.write32(IMS, 0xffffffff);
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(marker.calls).toBe(1);
    expect(ctx.isrCalls).toBe(0);
    expect(ctx.events.some((e) => e.startsWith('handle'))).toBe(false);
  });

  it('NdisMSynchronizeWithInterrupt after NdisMDeregisterInterrupt is BUGCODE_NDIS_DRIVER (invalid handle)', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { ctx } = await rig.start();
    await rig.kernel.runAtPassive('Halt', () => rig!.ndis.deregisterInterrupt(ctx.interrupt!));
    await expect(rig.kernel.runAtPassive('Late', () => rig!.ndis.synchronizeWithInterrupt(ctx.interrupt!, () => true))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.INVALID_HANDLE, expect.any(Number), ctx.interrupt!.id, 0],
    });
  });

  it('MiniportSynchronizeISR that runs too long is flagged by the verifier', async () => {
    const k = makeKernelRig({ verifier: { synchronizeTimeLimitUs: 200 } });
    try {
      const ndis = new Ndis5(k.kernel);
      let interrupt: ReturnType<Ndis5['registerInterrupt']> | undefined;
      const driver = ndis.registerMiniport({
        initializeHandler(h) {
          ndis.setAttributesEx(h, null);
          interrupt = ndis.registerInterrupt(h, { requestIsr: true, sharedInterrupt: false });
          return NdisStatus.SUCCESS;
        },
        haltHandler() {},
        sendPacketsHandler() {},
        queryInformationHandler: () => 0,
        setInformationHandler: () => 0,
        isrHandler: () => ({ interruptRecognized: false, queueMiniportHandleInterrupt: false }),
        handleInterruptHandler() {},
      });
      await ndis.initializeMiniport(driver, { registers: k.nic, interrupt: { line: LINE } });
      const err = await k.kernel
        .runAtPassive('Caller', () =>
          ndis.synchronizeWithInterrupt(interrupt!, async function SlowSynchronizeIsr() {
            await k.kernel.stallExecutionProcessor(2000);
            return true;
          }),
        )
        .catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
        parameters: [VerifierViolation.SYNCHRONIZE_ROUTINE_TOO_LONG, expect.any(Number), 200, expect.any(Number)],
      });
    } finally {
      await k.cleanup();
    }
  });
});
