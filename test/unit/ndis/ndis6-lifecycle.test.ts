import { afterEach, describe, expect, it } from 'vitest';
import { Irql } from '../../../src/kernel/index.ts';
import { BUGCODE_NDIS_DRIVER, MediaConnectState, NdisCharacteristicsError, NdisOperationError, NdisStatus, NdisViolation } from '../../../src/ndis/ndis6/index.ts';
import { IMS, RXT0 } from './fakes.ts';
import { frame, makeNdis6Rig, STATUS, type Ndis6Rig } from './ndis6-miniport.ts';

let rig: Ndis6Rig;
afterEach(async () => rig?.cleanup());

describe('NDIS 6 adapter lifecycle', () => {
  it('MiniportInitializeEx, MiniportRestart and MiniportHaltEx run at PASSIVE_LEVEL; the adapter goes Paused, Running, Halted', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    expect(adapter.state).toBe('running');
    expect(adapter.context).toBe(ctx);
    await rig.ndis.haltMiniport(adapter);
    expect(adapter.state).toBe('halted');
    expect(ctx.events.filter((e) => /^(initialize|restart|pause|halt)/.test(e))).toEqual(['initialize at 0', 'restart at 0', 'pause at 0', 'halt at 0']);
  });

  it('NdisMRegisterMiniportDriver refuses characteristics without a required handler', () => {
    rig = makeNdis6Rig();
    const { sendNetBufferListsHandler: _omit, ...partial } = rig.chars;
    expect(() => rig.ndis.registerMiniportDriver(partial as never)).toThrow(NdisCharacteristicsError);
    expect(() => rig.ndis.registerMiniportDriver({ ...rig.chars, majorNdisVersion: 5 })).toThrow(/MajorNdisVersion 5/);
  });

  it('MiniportInitializeEx that succeeds without setting its attributes fails; NDIS then checks it released its interrupt: 0x7C/0x0B (INIT_FAILED_WITHOUT_INTERRUPT_DEREGISTER)', async () => {
    rig = makeNdis6Rig({ skipAttributes: true });
    await expect(rig.start()).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_FAILED_INIT, expect.any(Number), expect.any(Number), 0],
    });
  });

  it('a miniport that leaks its interrupt at halt is BUGCODE_NDIS_DRIVER 0x08, and its ISR is never called again', async () => {
    rig = makeNdis6Rig({ leakInterrupt: true });
    const { adapter, ctx } = await rig.start();
    const err = await rig.ndis.haltMiniport(adapter).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [0x08, adapter.id, expect.any(Number), 0], report: { api: 'MiniportHaltEx' } });
    const isrs = ctx.events.filter((e) => e.startsWith('isr')).length;
    // The stop disconnected every interrupt and stopped listening to the lines: nothing is left to
    // call the ISR. A raise now reaches no one; the turn after it is when the kernel would start it.
    expect(rig.kernel.connectedInterrupts).toEqual([]);
    rig.nic.write32(IMS, 0xffffffff);
    rig.nic.raise(RXT0);
    await new Promise((r) => setImmediate(r));
    expect(ctx.events.filter((e) => e.startsWith('isr')).length).toBe(isrs);
  });

  it('a receive frame travels ISR → DPC → NdisMIndicateReceiveNetBufferLists → binding → MiniportReturnNetBufferLists', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    ctx.rxQueue.push(frame(60, 1), frame(70, 2));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.frames).toEqual([frame(60, 1), frame(70, 2)]);
    expect(rig.binding.indications).toEqual([{ count: 2, flags: 1, irql: Irql.DISPATCH_LEVEL }]);
    expect(ctx.returned).toBe(2);
    expect(adapter.statistics.receivesIndicated).toBe(2);
    expect(ctx.pool!.inUse).toBe(0);
    expect(ctx.events).toContain('isr at 5 on 0');
    expect(ctx.events).toContain('dpc at 2 on 0');
    await rig.ndis.haltMiniport(adapter);
  });

  it('link state indication reaches the binding', async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    rig.nic.regs.set(STATUS, 0);
    rig.nic.raise(0x4);
    await rig.kernel.quiesce();
    expect(rig.binding.statuses).toHaveLength(1);
    expect(rig.binding.statuses[0]).toMatchObject({ statusCode: NdisStatus.LINK_STATE, sourceHandle: adapter, buffer: { mediaConnectState: MediaConnectState.Disconnected } });
    expect(adapter.linkState.mediaConnectState).toBe(MediaConnectState.Disconnected);
  });

  it('restart that fails leaves the adapter Paused and reports the status', async () => {
    rig = makeNdis6Rig();
    rig.chars.restartHandler = () => NdisStatus.RESOURCES;
    const driver = rig.ndis.registerMiniportDriver(rig.chars);
    const err = await rig.ndis.initializeMiniport(driver, { registers: rig.nic, interrupt: { line: 11 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NdisOperationError);
    expect((err as NdisOperationError).status).toBe(NdisStatus.RESOURCES);
    const adapter = [...driver.adapters][0]!;
    expect(adapter.state).toBe('paused');
    await rig.ndis.haltMiniport(adapter);
  });

  it('halt waits in Paused: MiniportPause pends until every indicated NBL is returned', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.held).toHaveLength(1);
    const halting = rig.ndis.haltMiniport(adapter);
    // The positive control: MiniportPause has returned (pending) and every routine has ended.
    await rig.kernel.idle();
    expect(adapter.state).toBe('pausing');
    await rig.binding.returnHeld(adapter);
    await halting;
    expect(adapter.state).toBe('halted');
    expect(ctx.events.filter((e) => e.startsWith('pause') || e.startsWith('return') || e.startsWith('halt'))).toEqual(['pause at 0', 'return at 2', 'halt at 0']);
  });
});
