import { afterEach, describe, expect, it } from 'vitest';
import { BUGCODE_NDIS_DRIVER, NdisCharacteristicsError, NdisStatus, NdisViolation, Oid, type PacketPoolExhaustedEvent } from '../../../src/ndis/ndis5/index.ts';
import { Irql } from '../../../src/kernel/index.ts';
import { RXT0 } from './fakes.ts';
import { frame } from './ndis6-miniport.ts';
import { STATUS, makeNdis5Rig, type Ndis5Rig } from './ndis5-miniport.ts';

let rig: Ndis5Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  rig = undefined;
});

describe('NDIS 5 packets, receive, send, status, information requests', () => {
  it('MiniportInitialize and MiniportHalt run at PASSIVE_LEVEL; halt after NdisMDeregisterInterrupt passes', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { adapter, ctx } = await rig.start();
    expect(adapter.state).toBe('running');
    expect(adapter.context).toBe(ctx);
    await rig.ndis.haltMiniport(adapter);
    expect(adapter.state).toBe('halted');
    expect(ctx.events.filter((e) => e.startsWith('initialize') || e.startsWith('halt'))).toEqual(['initialize at 0 on 0', 'halt at 0 on 0']);
  });

  it('a miniport that leaks its interrupt at MiniportHalt is BUGCODE_NDIS_DRIVER 0x08', async () => {
    rig = makeNdis5Rig({ requestIsr: true, leakInterrupt: true });
    const { adapter, ctx } = await rig.start();
    await expect(rig.ndis.haltMiniport(adapter)).rejects.toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [0x08, adapter.id, ctx.interrupt!.id, 0] });
  });

  it('NdisMRegisterMiniport refuses a version that is not 5.x and a missing handler', () => {
    rig = makeNdis5Rig();
    expect(() => rig!.ndis.registerMiniport({ ...rig!.chars, majorNdisVersion: 6 })).toThrow(NdisCharacteristicsError);
    const { queryInformationHandler: _q, ...partial } = rig.chars;
    expect(() => rig!.ndis.registerMiniport(partial as never)).toThrow(/queryInformationHandler is required/);
  });

  it('NdisMIndicateReceivePacket: a packet with status SUCCESS stays with the protocol until it comes back through MiniportReturnPacket', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { adapter, ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60, 3), frame(64, 4));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.frames).toEqual([frame(60, 3), frame(64, 4)]);
    expect(rig.binding.held.map((p) => p.owner)).toEqual(['indicated', 'indicated']);
    expect(ctx.returned).toBe(0);
    for (const p of rig.binding.held.splice(0)) await rig.ndis.returnPacket(adapter, p);
    expect(ctx.returned).toBe(2);
    expect(ctx.events.filter((e) => e.startsWith('return'))).toEqual(['return at 2 on 0', 'return at 2 on 0']);
    expect(ctx.pool!.inUse).toBe(0);
  });

  it("NdisMIndicateReceivePacket: a packet with NDIS_STATUS_RESOURCES is the miniport's again when the call returns", async () => {
    rig = makeNdis5Rig({ requestIsr: true, resources: true });
    const { ctx } = await rig.start();
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.frames).toEqual([frame(60)]);
    expect(ctx.returned).toBe(0);
    expect(ctx.pool!.inUse).toBe(0);
  });

  it('indicating a packet the protocol still holds is BUGCODE_NDIS_DRIVER 0x05', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { adapter, ctx } = await rig.start();
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const held = rig.binding.held[0]!;
    await expect(rig.kernel.runAtPassive('Reindicate', () => rig!.ndis.indicateReceivePacket(adapter, [held], 1))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.INDICATED_PACKET_IN_USE, adapter.id, held.id, 0],
    });
  });

  it('packet pool exhaustion is reported, not silent', async () => {
    rig = makeNdis5Rig({ requestIsr: true, poolSize: 1 });
    const { adapter, ctx } = await rig.start();
    const events: PacketPoolExhaustedEvent[] = [];
    rig.ndis.on('poolExhausted', (e: PacketPoolExhaustedEvent) => events.push(e));
    rig.binding.hold = true;
    ctx.rxQueue.push(frame(60), frame(61));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(ctx.allocationFailures).toBe(1);
    expect(events).toEqual([{ pool: ctx.pool, api: 'NdisAllocatePacket', failures: 1 }]);
    for (const p of rig.binding.held.splice(0)) await rig.ndis.returnPacket(adapter, p);
  });

  it('serialized miniport: MiniportSendPackets runs at DISPATCH_LEVEL and NDIS completes the packets it did not pend', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { adapter, ctx } = await rig.start();
    const pool = rig.ndis.allocatePacketPool(2, { dataSize: 64 });
    const packets = [rig.ndis.allocatePacket(pool, null, 0, 60)!, rig.ndis.allocatePacket(pool, null, 0, 61)!];
    await rig.ndis.sendPackets(adapter, packets);
    expect(ctx.events.filter((e) => e.startsWith('send'))).toEqual(['send 2 at 2 on 0']);
    expect(rig.binding.completions).toEqual(packets.map((p) => ({ id: p.id, status: NdisStatus.SUCCESS })));
    expect(adapter.sendsOutstanding).toBe(0);
  });

  it('a pended send completes later with NdisMSendComplete; completing it again is BUGCODE_NDIS_DRIVER', async () => {
    rig = makeNdis5Rig({ requestIsr: true, pendSends: true });
    const { adapter } = await rig.start();
    const pool = rig.ndis.allocatePacketPool(1, { dataSize: 64 });
    const p = rig.ndis.allocatePacket(pool, null, 0, 60)!;
    await rig.ndis.sendPackets(adapter, [p]);
    expect(rig.binding.completions).toEqual([]);
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    expect(rig.binding.completions).toEqual([{ id: p.id, status: NdisStatus.SUCCESS }]);
    await expect(
      rig.kernel.runAtPassive('Again', async () => {
        rig!.kernel.raiseIrql(Irql.DISPATCH_LEVEL);
        rig!.ndis.sendComplete(adapter, p, NdisStatus.SUCCESS);
      }),
    ).rejects.toMatchObject({ code: BUGCODE_NDIS_DRIVER, parameters: [NdisViolation.NBL_NOT_OWNED, adapter.id, p.id, 0], report: { api: 'NdisMSendComplete' } });
  });

  it('deserialized miniport: every packet completes through NdisMSendComplete', async () => {
    rig = makeNdis5Rig({ requestIsr: true, deserialized: true });
    const { adapter } = await rig.start();
    const pool = rig.ndis.allocatePacketPool(1, { dataSize: 64 });
    const p = rig.ndis.allocatePacket(pool, null, 0, 60)!;
    await rig.ndis.sendPackets(adapter, [p]);
    expect(rig.binding.completions).toEqual([{ id: p.id, status: NdisStatus.SUCCESS }]);
    expect(adapter.deserialized).toBe(true);
  });

  it('NDIS_STATUS_MEDIA_DISCONNECT and MEDIA_CONNECT reach the binding, each followed by the status-complete indication', async () => {
    rig = makeNdis5Rig({ requestIsr: true });
    const { adapter } = await rig.start();
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    rig.nic.regs.set(STATUS, 0);
    rig.nic.raise(0x4);
    await rig.kernel.quiesce();
    expect(rig.binding.statuses).toEqual(['status 4001000b', 'complete', 'status 4001000c', 'complete']);
    expect(adapter.mediaConnected).toBe(false);
  });

  it('MiniportQueryInformation and MiniportSetInformation run at DISPATCH_LEVEL; a pended query completes with NdisMQueryInformationComplete', async () => {
    rig = makeNdis5Rig({ requestIsr: true, pendQueries: true });
    const { adapter, ctx } = await rig.start();
    await rig.ndis.setInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER, 0xb);
    expect(await rig.ndis.queryInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER)).toBe(0xb);
    expect(ctx.events.filter((e) => e.startsWith('set'))).toEqual(['set 1010e at 2 on 0']);
    await expect(rig.ndis.queryInformation(adapter, Oid.GEN_LINK_SPEED)).rejects.toMatchObject({ status: NdisStatus.INVALID_OID });
  });
});
