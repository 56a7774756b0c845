import {
  NdisInterruptModeration,
  NdisRequestType,
  NdisStatisticsFlags,
  NdisStatus,
  Oid,
  type NDIS_STATUS,
  type NdisInterruptModerationParameters,
  type NdisOidRequest,
  type NdisStatisticsInfo,
} from '../../../ndis/ndis6/index.ts';
import { E1000Error } from '../errors.ts';
import { interruptRateToItr } from '../nic.ts';
import type { E1000Adapter } from '../miniport/index.ts';
import { answer, queryCommonOid, setCommonOid } from '../common/ndis-oid.ts';
import { ndisLinkState } from './adapter-context.ts';

export { SUPPORTED_PACKET_FILTERS, packetFilterBits } from '../common/ndis-oid.ts';

export const SUPPORTED_OIDS: readonly number[] = [
  Oid.GEN_SUPPORTED_LIST,
  Oid.GEN_HARDWARE_STATUS,
  Oid.GEN_MEDIA_SUPPORTED,
  Oid.GEN_MEDIA_IN_USE,
  Oid.GEN_MAXIMUM_LOOKAHEAD,
  Oid.GEN_MAXIMUM_FRAME_SIZE,
  Oid.GEN_LINK_SPEED,
  Oid.GEN_MAXIMUM_TOTAL_SIZE,
  Oid.GEN_VENDOR_ID,
  Oid.GEN_VENDOR_DESCRIPTION,
  Oid.GEN_CURRENT_PACKET_FILTER,
  Oid.GEN_CURRENT_LOOKAHEAD,
  Oid.GEN_DRIVER_VERSION,
  Oid.GEN_MEDIA_CONNECT_STATUS,
  Oid.GEN_LINK_STATE,
  Oid.GEN_INTERRUPT_MODERATION,
  Oid.GEN_XMIT_OK,
  Oid.GEN_RCV_OK,
  Oid.GEN_XMIT_ERROR,
  Oid.GEN_RCV_ERROR,
  Oid.GEN_RCV_NO_BUFFER,
  Oid.GEN_STATISTICS,
  Oid['802_3_PERMANENT_ADDRESS'],
  Oid['802_3_CURRENT_ADDRESS'],
  Oid['802_3_MULTICAST_LIST'],
  Oid['802_3_MAXIMUM_LIST_SIZE'],
];

const DRIVER_VERSION = 0x0614;

export interface OidContext {
  core: E1000Adapter;
  permanentMac: string;
  /** Interrupts per second while OID_GEN_INTERRUPT_MODERATION says Enabled. */
  moderationRate: number;
}

/** MiniportOidRequest body (PASSIVE_LEVEL): query and set, answered synchronously. */
export async function handleOidRequest(ctx: OidContext, request: NdisOidRequest): Promise<NDIS_STATUS> {
  try {
    if (request.requestType === NdisRequestType.SetInformation) return await setOid(ctx, request);
    if (request.requestType === NdisRequestType.QueryInformation || request.requestType === NdisRequestType.QueryStatistics) {
      return await queryOid(ctx, request);
    }
    return NdisStatus.NOT_SUPPORTED;
  } catch (err) {
    // A bad value the hardware layer refused (E1000ConfigError...) is the requester's problem, not a crash.
    if (err instanceof E1000Error) return NdisStatus.INVALID_DATA;
    throw err;
  }
}

async function queryOid(ctx: OidContext, request: NdisOidRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  switch (request.oid) {
    case Oid.GEN_SUPPORTED_LIST:
      return answer(request, [...SUPPORTED_OIDS], SUPPORTED_OIDS.length * 4);
    case Oid.GEN_VENDOR_DESCRIPTION:
      return answer(request, 'dirql Intel 82540EM (e1000) NDIS 6 miniport', 44);
    case Oid.GEN_DRIVER_VERSION:
      return answer(request, DRIVER_VERSION, 2);
    case Oid.GEN_LINK_STATE:
      return answer(request, ndisLinkState(core.link), 32);
    case Oid.GEN_INTERRUPT_MODERATION: {
      const value: NdisInterruptModerationParameters = {
        flags: 0,
        interruptModeration: core.interruptThrottle.itr > 0 ? NdisInterruptModeration.Enabled : NdisInterruptModeration.Disabled,
      };
      return answer(request, value, 12);
    }
    case Oid.GEN_STATISTICS: {
      const s = await core.statistics();
      const nic = s.nic;
      // The NIC counts octets with the 4-byte CRC; NDIS counts frame bytes.
      const inOctets = nic.goodOctetsReceived - 4 * nic.goodPacketsReceived;
      const outOctets = nic.goodOctetsTransmitted - 4 * nic.goodPacketsTransmitted;
      const info: NdisStatisticsInfo = {
        supportedStatistics:
          NdisStatisticsFlags.VALID_DIRECTED_FRAMES_RCV |
          NdisStatisticsFlags.VALID_MULTICAST_FRAMES_RCV |
          NdisStatisticsFlags.VALID_BROADCAST_FRAMES_RCV |
          NdisStatisticsFlags.VALID_BYTES_RCV |
          NdisStatisticsFlags.VALID_RCV_DISCARDS |
          NdisStatisticsFlags.VALID_RCV_ERROR |
          NdisStatisticsFlags.VALID_DIRECTED_FRAMES_XMIT |
          NdisStatisticsFlags.VALID_MULTICAST_FRAMES_XMIT |
          NdisStatisticsFlags.VALID_BROADCAST_FRAMES_XMIT |
          NdisStatisticsFlags.VALID_BYTES_XMIT |
          NdisStatisticsFlags.VALID_XMIT_ERROR |
          NdisStatisticsFlags.VALID_XMIT_DISCARDS,
        ifInDiscards: nic.missedPackets + nic.receiveNoBuffers,
        ifInErrors: nic.crcErrors + nic.alignmentErrors + nic.symbolErrors + nic.rxErrors + s.driver.rxOversizeDropped,
        ifHCInOctets: inOctets,
        ifHCInUcastPkts: nic.goodPacketsReceived - nic.multicastPacketsReceived - nic.broadcastPacketsReceived,
        ifHCInMulticastPkts: nic.multicastPacketsReceived,
        ifHCInBroadcastPkts: nic.broadcastPacketsReceived,
        ifHCOutOctets: outOctets,
        ifHCOutUcastPkts: nic.goodPacketsTransmitted - nic.multicastPacketsTransmitted - nic.broadcastPacketsTransmitted,
        ifHCOutMulticastPkts: nic.multicastPacketsTransmitted,
        ifHCOutBroadcastPkts: nic.broadcastPacketsTransmitted,
        ifOutErrors: nic.excessiveCollisions + nic.lateCollisions,
        ifOutDiscards: s.driver.txAborted,
        ifHCInUcastOctets: 0,
        ifHCInMulticastOctets: 0,
        ifHCInBroadcastOctets: 0,
        ifHCOutUcastOctets: 0,
        ifHCOutMulticastOctets: 0,
        ifHCOutBroadcastOctets: 0,
      };
      return answer(request, info, 152);
    }
    default:
      return (await queryCommonOid(core, request, ctx.permanentMac)) ?? NdisStatus.NOT_SUPPORTED;
  }
}

async function setOid(ctx: OidContext, request: NdisOidRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  const value = request.informationBuffer;
  switch (request.oid) {
    case Oid.GEN_INTERRUPT_MODERATION: {
      const p = value as Partial<NdisInterruptModerationParameters> | null;
      if (!p || typeof p !== 'object') return NdisStatus.INVALID_DATA;
      if (p.interruptModeration === NdisInterruptModeration.Enabled) await core.setInterruptThrottle({ itr: interruptRateToItr(ctx.moderationRate) });
      else if (p.interruptModeration === NdisInterruptModeration.Disabled) await core.setInterruptThrottle({ itr: 0 });
      else return NdisStatus.INVALID_DATA;
      request.bytesRead = 12;
      return NdisStatus.SUCCESS;
    }
    case Oid.GEN_CURRENT_LOOKAHEAD:
      request.bytesRead = 4;
      return NdisStatus.SUCCESS;
    default:
      return (await setCommonOid(core, request)) ?? NdisStatus.NOT_SUPPORTED;
  }
}
