import { afterEach, describe, expect, it } from 'vitest';
import {
  BUGCODE_NDIS_DRIVER,
  NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL,
  NDIS_RECEIVE_FLAGS_RESOURCES,
  NdisError,
  NdisStatus,
  NdisViolation,
  chainNetBufferLists,
  countNetBufferLists,
  type PoolExhaustedEvent,
} from '../../../src/ndis/ndis6/index.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { RXT0 } from './fakes.ts';
import { frame, makeNdis6Rig, type Ndis6Rig, type TestAdapter } from './ndis6-miniport.ts';

let rig: Ndis6Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

describe('NET_BUFFER_LISTs, pools, receive and send', () => {
  it('NBL pool exhaustion is reported, not silent: null, a counter, an event and a trace entry', async () => {
    rig = makeNdis6Rig({ poolSize: 2 });
    const { ctx } = await rig.start();
    const events: PoolExhaustedEvent[] = [];
    rig.ndis.on('poolExhausted', (e: PoolExhaustedEvent) => events.push(e));
    rig.binding.hold = true;
    for (let i = 0; i < 3; i++) ctx.rxQueue.push(frame(60, i));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.frames).toHaveLength(2);
    expect(ctx.allocationFailures).toBe(1);
    expect(ctx.pool!.allocationFailures).toBe(1);
    expect(events).toEqual([{ pool: ctx.pool, api: 'NdisAllocateNetBufferAndNetBufferList', failures: 1 }]);
    expect(rig.kernel.trace.tail().some((e) => e.kind === 'ndis' && e.detail.includes('TestRx exhausted'))).toBe(true);
    await rig.binding.returnHeld(rig.ndis.adapters.values().next().value!);
  });

  it('receive indication without NDIS_RECEIVE_FLAGS_RESOURCES: the protocol keeps the NBLs until it returns them through MiniportReturnNetBufferLists', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60, 1), frame(61, 2));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.held.map((n) => n.owner)).toEqual(['indicated', 'indicated']);
    expect(adapter.receivesOutstanding).toBe(2);
    expect(ctx.returned).toBe(0);
    await rig.binding.returnHeld(adapter);
    expect(ctx.returned).toBe(2);
    expect(ctx.events.filter((e) => e.startsWith('return'))).toEqual(['return at 2']);
    expect(adapter.receivesOutstanding).toBe(0);
    expect(ctx.pool!.inUse).toBe(0);
  });

  it("receive indication with NDIS_RECEIVE_FLAGS_RESOURCES: the NBLs are the miniport's again when the call returns; MiniportReturnNetBufferLists is not called", async () => {
    rig = makeNdis6Rig({ resources: true });
    const { adapter, ctx } = await rig.start();
    ctx.rxQueue.push(frame(60, 7));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.indications).toEqual([{ count: 1, flags: NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL | NDIS_RECEIVE_FLAGS_RESOURCES, irql: Irql.DISPATCH_LEVEL }]);
    expect(rig.binding.frames).toEqual([frame(60, 7)]);
    expect(ctx.returned).toBe(0);
    expect(ctx.pool!.inUse).toBe(0);
    expect(adapter.receivesOutstanding).toBe(0);
  });

  it('a protocol returning an NBL indicated with NDIS_RECEIVE_FLAGS_RESOURCES is refused', async () => {
    rig = makeNdis6Rig({ resources: true });
    const { adapter, ctx } = await rig.start();
    let refused: unknown;
    rig.binding.receiveNetBufferLists = (nbls) =>
      rig!.ndis.returnNetBufferLists(adapter, nbls).catch((e: unknown) => {
        refused = e;
      });
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(refused).toBeInstanceOf(NdisError);
    expect(ctx.returned).toBe(0);
  });

  it('indicating an NBL the protocol still holds is BUGCODE_NDIS_DRIVER 0x05', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const held = rig.binding.held[0]!;
    const err = await rig.kernel
      .runAtPassive('Reindicate', async () => {
        const old = rig!.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        await rig!.ndis.indicateReceiveNetBufferLists(adapter, held, 0, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
        await rig!.kernel.lowerIrql(old);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.INDICATED_PACKET_IN_USE, adapter.id, held.id, 0] });
  });

  it('NumberOfNetBufferLists must match the chain', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    const err = await rig.kernel
      .runAtPassive('Indicate', async () => {
        const a = rig!.ndis.allocateNetBufferAndNetBufferList(ctx.pool!, frame(60), 0, 60)!;
        const b = rig!.ndis.allocateNetBufferAndNetBufferList(ctx.pool!, frame(60), 0, 60)!;
        await rig!.ndis.indicateReceiveNetBufferLists(adapter, chainNetBufferLists([a, b])!, 0, 1, 0);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.NBL_COUNT_MISMATCH, adapter.id, 1, 2] });
  });

  it('NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL given below DISPATCH_LEVEL is a bug check', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    const err = await rig.kernel
      .runAtPassive('Indicate', async () => {
        const a = rig!.ndis.allocateNetBufferAndNetBufferList(ctx.pool!, frame(60))!;
        await rig!.ndis.indicateReceiveNetBufferLists(adapter, a, 0, 1, NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.DISPATCH_FLAG_BELOW_DISPATCH, adapter.id, 0, 0],
      report: { api: 'NdisMIndicateReceiveNetBufferLists' },
    });
  });

  it('NdisFreeNetBufferList of an NBL indicated to the protocol is a bug check', async () => {
    rig = makeNdis6Rig();
    const { ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const held = rig.binding.held[0]!;
    await expect(rig.kernel.runAtPassive('Free', () => rig!.ndis.freeNetBufferList(held))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.NBL_NOT_OWNED, held.id, 0, 0],
    });
  });

  it('MiniportSendNetBufferLists runs at DISPATCH_LEVEL with NDIS_SEND_FLAGS_DISPATCH_LEVEL; the completion reaches the binding', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    const pool = rig.ndis.allocateNetBufferListPool(4, { dataSize: 1514, tag: 'ProtocolTx' });
    const nbls = [0, 1, 2].map((i) => {
      const nbl = rig!.ndis.allocateNetBufferAndNetBufferList(pool, null, 0, 100 + i)!;
      nbl.firstNetBuffer.data.set(frame(100 + i, i));
      return nbl;
    });
    await rig.ndis.sendNetBufferLists(adapter, chainNetBufferLists(nbls)!);
    expect(ctx.events.filter((e) => e.startsWith('send'))).toEqual(['send at 2 flags 1']);
    expect(ctx.sent).toEqual([frame(100, 0), frame(101, 1), frame(102, 2)]);
    expect(rig.binding.completions).toEqual([{ ids: nbls.map((n) => n.id), statuses: [0, 0, 0] }]);
    expect(nbls.every((n) => n.owner === 'allocated')).toBe(true);
    expect(adapter.sendsOutstanding).toBe(0);
    for (const n of nbls) rig.ndis.freeNetBufferList(n);
    expect(pool.inUse).toBe(0);
  });

  it("a pool with DataSize reuses each NBL's own buffer: steady-state allocation creates no new NBL or buffer", async () => {
    rig = makeNdis6Rig();
    const pool = rig.ndis.allocateNetBufferListPool(1, { dataSize: 64 });
    const a = rig.ndis.allocateNetBufferAndNetBufferList(pool, null, 0, 10)!;
    const bufferA = a.firstNetBuffer.data;
    rig.ndis.freeNetBufferList(a);
    const b = rig.ndis.allocateNetBufferAndNetBufferList(pool, null, 4, 20)!;
    expect(b).toBe(a);
    expect(b.firstNetBuffer.data).toBe(bufferA);
    expect([b.firstNetBuffer.dataOffset, b.dataLength, b.next, b.miniportReserved]).toEqual([4, 20, null, null]);
  });

  it('completing an NBL twice (double NdisMSendNetBufferListsComplete) is BUGCODE_NDIS_DRIVER', async () => {
    rig = makeNdis6Rig();
    let firstNbl: unknown;
    rig.chars.sendNetBufferListsHandler = (c, nbls) => {
      firstNbl = nbls;
      const handle = (c as TestAdapter).handle;
      rig!.ndis.sendNetBufferListsComplete(handle, nbls, 1);
      rig!.ndis.sendNetBufferListsComplete(handle, nbls, 1);
    };
    const driver = rig.ndis.registerMiniportDriver(rig.chars);
    const adapter2 = await rig.ndis.initializeMiniport(driver, { registers: rig.nic, interrupt: { line: 11 } }, { binding: rig.binding });
    const pool = rig.ndis.allocateNetBufferListPool(1, { dataSize: 64 });
    const nbl = rig.ndis.allocateNetBufferAndNetBufferList(pool, null, 0, 60)!;
    const err = await rig.ndis.sendNetBufferLists(adapter2, nbl).catch((e: unknown) => e);
    expect(firstNbl).toBe(nbl);
    expect(err).toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.NBL_NOT_OWNED, adapter2.id, nbl.id, 0], report: { api: 'NdisMSendNetBufferListsComplete' } });
  });

  it('sends to a paused adapter are completed by NDIS with NDIS_STATUS_PAUSED and never reach the miniport', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    await rig.ndis.pauseMiniport(adapter);
    const pool = rig.ndis.allocateNetBufferListPool(2, { dataSize: 64 });
    const nbl = rig.ndis.allocateNetBufferAndNetBufferList(pool, null, 0, 60)!;
    await rig.ndis.sendNetBufferLists(adapter, nbl);
    expect(rig.binding.completions).toEqual([{ ids: [nbl.id], statuses: [NdisStatus.PAUSED] }]);
    expect(ctx.events.some((e) => e.startsWith('send'))).toBe(false);
    expect(adapter.statistics.sendsRefusedPaused).toBe(1);
  });

  it('NdisFreeNetBufferListPool with NBLs still allocated is refused (host code) or a bug check (driver code)', async () => {
    rig = makeNdis6Rig();
    const pool = rig.ndis.allocateNetBufferListPool(2, { dataSize: 64 });
    rig.ndis.allocateNetBufferAndNetBufferList(pool);
    expect(() => rig!.ndis.freeNetBufferListPool(pool)).toThrow(NdisError);
    await expect(rig.kernel.runAtPassive('FreePool', () => rig!.ndis.freeNetBufferListPool(pool))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS, pool.id, 1, 0],
    });
  });

  it('chain helpers count and link NBLs', () => {
    rig = makeNdis6Rig();
    const pool = rig.ndis.allocateNetBufferListPool(3, { dataSize: 8 });
    const list = [0, 1, 2].map(() => rig!.ndis.allocateNetBufferAndNetBufferList(pool)!);
    const head = chainNetBufferLists(list);
    expect(countNetBufferLists(head)).toBe(3);
    expect(countNetBufferLists(null)).toBe(0);
    expect(list[2]!.next).toBeNull();
  });
});
