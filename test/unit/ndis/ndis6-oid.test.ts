import { afterEach, describe, expect, it } from 'vitest';
import {
  BUGCODE_NDIS_DRIVER,
  NdisInterruptModeration,
  NdisOperationError,
  NdisPacketType,
  NdisRequestType,
  NdisStatus,
  NdisViolation,
  Oid,
  type NdisInterruptModerationParameters,
  type NdisStatisticsInfo,
} from '../../../src/ndis/ndis6/index.ts';
import { StateTransition } from '../../../src/ndis/common/index.ts';
import { RXT0 } from './fakes.ts';
import { frame, makeNdis6Rig, type Ndis6Rig } from './ndis6-miniport.ts';

let rig: Ndis6Rig | undefined;
let rig2: Ndis6Rig | undefined;
afterEach(async () => {
  await rig?.cleanup();
  await rig2?.cleanup();
  rig = rig2 = undefined;
});

describe('NDIS 6 OID requests', () => {
  it('OID_GEN_CURRENT_PACKET_FILTER: set then query, with MiniportOidRequest at PASSIVE_LEVEL', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    const filter = NdisPacketType.DIRECTED | NdisPacketType.BROADCAST | NdisPacketType.MULTICAST;
    await rig.ndis.setInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER, filter, 4);
    expect(await rig.ndis.queryInformation(adapter, Oid.GEN_CURRENT_PACKET_FILTER)).toBe(filter);
    expect(ctx.events.filter((e) => e.startsWith('oid'))).toEqual(['oid 1010e at 0', 'oid 1010e at 0']);
  });

  it("OID_802_3_MULTICAST_LIST: a list is kept; a bad length and too many addresses fail with the miniport's status", async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    const two = Uint8Array.from([1, 0, 0x5e, 0, 0, 1, 1, 0, 0x5e, 0, 0, 2]);
    await rig.ndis.setInformation(adapter, Oid['802_3_MULTICAST_LIST'], two);
    expect(await rig.ndis.queryInformation(adapter, Oid['802_3_MULTICAST_LIST'])).toEqual(two);
    await expect(rig.ndis.setInformation(adapter, Oid['802_3_MULTICAST_LIST'], new Uint8Array(7))).rejects.toMatchObject({ status: NdisStatus.INVALID_LENGTH });
    await expect(rig.ndis.setInformation(adapter, Oid['802_3_MULTICAST_LIST'], new Uint8Array(30))).rejects.toMatchObject({ status: NdisStatus.MULTICAST_FULL });
  });

  it('OID_GEN_STATISTICS and OID_GEN_XMIT_OK / OID_GEN_RCV_OK count the traffic that went through', async () => {
    rig = makeNdis6Rig();
    const { adapter, ctx } = await rig.start();
    ctx.rxQueue.push(frame(60), frame(100));
    rig.nic.raise(RXT0);
    await rig.kernel.quiesce();
    const pool = rig.ndis.allocateNetBufferListPool(1, { dataSize: 64 });
    await rig.ndis.sendNetBufferLists(adapter, rig.ndis.allocateNetBufferAndNetBufferList(pool, null, 0, 60)!);
    const stats = await rig.ndis.queryInformation<NdisStatisticsInfo>(adapter, Oid.GEN_STATISTICS);
    expect([stats.ifHCInUcastPkts, stats.ifHCInOctets, stats.ifHCOutUcastPkts]).toEqual([2, 160, 1]);
    expect(await rig.ndis.queryInformation(adapter, Oid.GEN_RCV_OK)).toBe(2);
    expect(await rig.ndis.queryInformation(adapter, Oid.GEN_XMIT_OK)).toBe(1);
  });

  it('OID_802_3_CURRENT_ADDRESS and OID_GEN_INTERRUPT_MODERATION', async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    expect(await rig.ndis.queryInformation(adapter, Oid['802_3_CURRENT_ADDRESS'])).toEqual(Uint8Array.from([0x52, 0x54, 0, 0x12, 0x34, 0x56]));
    await rig.ndis.setInformation(adapter, Oid.GEN_INTERRUPT_MODERATION, {
      flags: 0,
      interruptModeration: NdisInterruptModeration.Disabled,
    } satisfies NdisInterruptModerationParameters);
    expect(await rig.ndis.queryInformation<NdisInterruptModerationParameters>(adapter, Oid.GEN_INTERRUPT_MODERATION)).toEqual({
      flags: 0,
      interruptModeration: NdisInterruptModeration.Disabled,
    });
  });

  it('an OID the miniport does not support fails with NDIS_STATUS_NOT_SUPPORTED', async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    const err = await rig.ndis.queryInformation(adapter, Oid.GEN_VENDOR_ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NdisOperationError);
    expect((err as NdisOperationError).status).toBe(NdisStatus.NOT_SUPPORTED);
    expect((err as Error).message).toContain('OID_GEN_VENDOR_ID');
  });

  it('a pended OID request completes with NdisMOidRequestComplete, and requests reach the miniport one at a time', async () => {
    rig = makeNdis6Rig({ pendOids: true });
    const { adapter, ctx } = await rig.start();
    const a = rig.ndis.oidRequest(adapter, { requestType: NdisRequestType.SetInformation, oid: Oid.GEN_CURRENT_PACKET_FILTER, informationBuffer: 0x9 });
    const b = rig.ndis.oidRequest(adapter, { requestType: NdisRequestType.QueryInformation, oid: Oid.GEN_CURRENT_PACKET_FILTER });
    const [ra, rb] = await Promise.all([a, b]);
    expect([ra.status, rb.status, rb.request.informationBuffer]).toEqual([NdisStatus.SUCCESS, NdisStatus.SUCCESS, 0x9]);
    expect(ctx.events.filter((e) => e.startsWith('oid'))).toHaveLength(2);
  });

  it('NdisMOidRequestComplete for a request that is not pending is BUGCODE_NDIS_DRIVER 0x26 (INVALID_OID_COMPLETION)', async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    const { request } = await rig.ndis.oidRequest(adapter, { requestType: NdisRequestType.QueryInformation, oid: Oid.GEN_RCV_OK });
    await expect(rig.kernel.runAtPassive('Late', () => rig!.ndis.oidRequestComplete(adapter, request, NdisStatus.SUCCESS))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.INVALID_OID_COMPLETION, adapter.id, request.requestId, 0],
    });
  });

  it('NdisMPauseComplete and NdisMRestartComplete with nothing pending are BUGCODE_NDIS_DRIVER 0x1F (ILLEGAL_MINIPORT_STATE_TRANSITION)', async () => {
    rig = makeNdis6Rig();
    const { adapter } = await rig.start();
    await expect(rig.kernel.runAtPassive('LatePause', () => rig!.ndis.pauseComplete(adapter))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION, StateTransition.PAUSE_COMPLETE, adapter.id, 0],
    });
    rig2 = makeNdis6Rig();
    const second = await rig2.start();
    await expect(rig2.kernel.runAtPassive('LateRestart', () => rig2!.ndis.restartComplete(second.adapter, NdisStatus.SUCCESS))).rejects.toMatchObject({
      code: BUGCODE_NDIS_DRIVER,
      parameters: [NdisViolation.ILLEGAL_MINIPORT_STATE_TRANSITION, StateTransition.RESTART_COMPLETE, second.adapter.id, 0],
    });
  });
});
