import {
  NdisInterruptModeration,
  NdisMedium,
  NdisPacketType,
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
import { MAX_MULTICAST_ADDRESSES, type E1000Adapter } from '../miniport/index.ts';
import { ndisLinkState } from './adapter-context.ts';

/** Packet types the 82540EM filters in hardware (DIRECTED is always on). */
export const SUPPORTED_PACKET_FILTERS =
  NdisPacketType.DIRECTED | NdisPacketType.MULTICAST | NdisPacketType.ALL_MULTICAST | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS;

export const SUPPORTED_OIDS: readonly number[] = [
  Oid.GEN_SUPPORTED_LIST, Oid.GEN_HARDWARE_STATUS, Oid.GEN_MEDIA_SUPPORTED, Oid.GEN_MEDIA_IN_USE,
  Oid.GEN_MAXIMUM_LOOKAHEAD, Oid.GEN_MAXIMUM_FRAME_SIZE, Oid.GEN_LINK_SPEED, Oid.GEN_MAXIMUM_TOTAL_SIZE,
  Oid.GEN_VENDOR_ID, Oid.GEN_VENDOR_DESCRIPTION, Oid.GEN_CURRENT_PACKET_FILTER, Oid.GEN_CURRENT_LOOKAHEAD,
  Oid.GEN_DRIVER_VERSION, Oid.GEN_MEDIA_CONNECT_STATUS, Oid.GEN_LINK_STATE, Oid.GEN_INTERRUPT_MODERATION,
  Oid.GEN_XMIT_OK, Oid.GEN_RCV_OK, Oid.GEN_XMIT_ERROR, Oid.GEN_RCV_ERROR, Oid.GEN_RCV_NO_BUFFER, Oid.GEN_STATISTICS,
  Oid['802_3_PERMANENT_ADDRESS'], Oid['802_3_CURRENT_ADDRESS'], Oid['802_3_MULTICAST_LIST'], Oid['802_3_MAXIMUM_LIST_SIZE'],
];

const MAX_FRAME_SIZE = 1500;
const MAX_TOTAL_SIZE = 1514;
/** Intel's IEEE OUI in the low 24 bits. */
const VENDOR_ID = 0x001b21;
const DRIVER_VERSION = 0x0614;

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

function macText(bytes: Uint8Array, at: number): string {
  return Array.from(bytes.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function packetFilterBits(core: E1000Adapter): number {
  const f = core.packetFilter;
  let bits = NdisPacketType.DIRECTED;
  if ((f.multicast?.length ?? 0) > 0) bits |= NdisPacketType.MULTICAST;
  if (f.allMulticast) bits |= NdisPacketType.ALL_MULTICAST;
  if (f.broadcast) bits |= NdisPacketType.BROADCAST;
  if (f.promiscuous) bits |= NdisPacketType.PROMISCUOUS;
  return bits;
}

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

function answer(request: NdisOidRequest, value: unknown, bytes: number): NDIS_STATUS {
  request.informationBuffer = value;
  request.bytesWritten = bytes;
  return NdisStatus.SUCCESS;
}

async function queryOid(ctx: OidContext, request: NdisOidRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  switch (request.oid) {
    case Oid.GEN_SUPPORTED_LIST: return answer(request, [...SUPPORTED_OIDS], SUPPORTED_OIDS.length * 4);
    case Oid.GEN_HARDWARE_STATUS: return answer(request, 0, 4);
    case Oid.GEN_MEDIA_SUPPORTED:
    case Oid.GEN_MEDIA_IN_USE: return answer(request, NdisMedium['802_3'], 4);
    case Oid.GEN_MAXIMUM_LOOKAHEAD:
    case Oid.GEN_CURRENT_LOOKAHEAD:
    case Oid.GEN_MAXIMUM_FRAME_SIZE: return answer(request, MAX_FRAME_SIZE, 4);
    case Oid.GEN_MAXIMUM_TOTAL_SIZE: return answer(request, MAX_TOTAL_SIZE, 4);
    case Oid.GEN_LINK_SPEED: return answer(request, core.link.speedMbps * 10_000, 4);
    case Oid.GEN_VENDOR_ID: return answer(request, VENDOR_ID, 4);
    case Oid.GEN_VENDOR_DESCRIPTION: return answer(request, 'dirql Intel 82540EM (e1000) NDIS 6 miniport', 44);
    case Oid.GEN_DRIVER_VERSION: return answer(request, DRIVER_VERSION, 2);
    case Oid.GEN_CURRENT_PACKET_FILTER: return answer(request, packetFilterBits(core), 4);
    case Oid.GEN_MEDIA_CONNECT_STATUS: return answer(request, core.link.up ? 0 : 1, 4);
    case Oid.GEN_LINK_STATE: return answer(request, ndisLinkState(core.link), 32);
    case Oid.GEN_INTERRUPT_MODERATION: {
      const value: NdisInterruptModerationParameters = {
        flags: 0,
        interruptModeration: core.interruptThrottle.itr > 0 ? NdisInterruptModeration.Enabled : NdisInterruptModeration.Disabled,
      };
      return answer(request, value, 12);
    }
    case Oid['802_3_PERMANENT_ADDRESS']: return answer(request, macBytes(ctx.permanentMac), 6);
    case Oid['802_3_CURRENT_ADDRESS']: return answer(request, macBytes(core.mac), 6);
    case Oid['802_3_MULTICAST_LIST']: {
      const list = core.packetFilter.multicast ?? [];
      const out = new Uint8Array(list.length * 6);
      list.forEach((m, i) => out.set(macBytes(m), i * 6));
      return answer(request, out, out.length);
    }
    case Oid['802_3_MAXIMUM_LIST_SIZE']: return answer(request, MAX_MULTICAST_ADDRESSES, 4);
    case Oid.GEN_XMIT_OK:
    case Oid.GEN_RCV_OK:
    case Oid.GEN_XMIT_ERROR:
    case Oid.GEN_RCV_ERROR:
    case Oid.GEN_RCV_NO_BUFFER:
    case Oid.GEN_STATISTICS: {
      const s = await core.statistics();
      const nic = s.nic;
      switch (request.oid) {
        case Oid.GEN_XMIT_OK: return answer(request, nic.goodPacketsTransmitted, 8);
        case Oid.GEN_RCV_OK: return answer(request, nic.goodPacketsReceived, 8);
        case Oid.GEN_XMIT_ERROR: return answer(request, nic.excessiveCollisions + nic.lateCollisions + s.driver.txAborted, 8);
        case Oid.GEN_RCV_ERROR: return answer(request, nic.crcErrors + nic.alignmentErrors + nic.symbolErrors + nic.rxErrors + nic.receiveOversize + nic.receiveUndersize, 8);
        case Oid.GEN_RCV_NO_BUFFER: return answer(request, nic.missedPackets + nic.receiveNoBuffers, 8);
        default: {
          // The NIC counts octets with the 4-byte CRC; NDIS counts frame bytes.
          const inOctets = nic.goodOctetsReceived - 4 * nic.goodPacketsReceived;
          const outOctets = nic.goodOctetsTransmitted - 4 * nic.goodPacketsTransmitted;
          const info: NdisStatisticsInfo = {
            supportedStatistics: NdisStatisticsFlags.VALID_DIRECTED_FRAMES_RCV | NdisStatisticsFlags.VALID_MULTICAST_FRAMES_RCV
              | NdisStatisticsFlags.VALID_BROADCAST_FRAMES_RCV | NdisStatisticsFlags.VALID_BYTES_RCV | NdisStatisticsFlags.VALID_RCV_DISCARDS
              | NdisStatisticsFlags.VALID_RCV_ERROR | NdisStatisticsFlags.VALID_DIRECTED_FRAMES_XMIT | NdisStatisticsFlags.VALID_MULTICAST_FRAMES_XMIT
              | NdisStatisticsFlags.VALID_BROADCAST_FRAMES_XMIT | NdisStatisticsFlags.VALID_BYTES_XMIT | NdisStatisticsFlags.VALID_XMIT_ERROR
              | NdisStatisticsFlags.VALID_XMIT_DISCARDS,
            ifInDiscards: nic.missedPackets + nic.receiveNoBuffers,
            ifInErrors: nic.crcErrors + nic.alignmentErrors + nic.symbolErrors + nic.rxErrors,
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
            ifHCInUcastOctets: 0, ifHCInMulticastOctets: 0, ifHCInBroadcastOctets: 0,
            ifHCOutUcastOctets: 0, ifHCOutMulticastOctets: 0, ifHCOutBroadcastOctets: 0,
          };
          return answer(request, info, 152);
        }
      }
    }
    default:
      return NdisStatus.NOT_SUPPORTED;
  }
}

async function setOid(ctx: OidContext, request: NdisOidRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  const value = request.informationBuffer;
  switch (request.oid) {
    case Oid.GEN_CURRENT_PACKET_FILTER: {
      if (typeof value !== 'number' || !Number.isInteger(value)) return NdisStatus.INVALID_DATA;
      if ((value & ~SUPPORTED_PACKET_FILTERS) !== 0) return NdisStatus.NOT_SUPPORTED;
      await core.setPacketFilter({
        promiscuous: (value & NdisPacketType.PROMISCUOUS) !== 0,
        allMulticast: (value & NdisPacketType.ALL_MULTICAST) !== 0,
        broadcast: (value & NdisPacketType.BROADCAST) !== 0,
      });
      request.bytesRead = 4;
      return NdisStatus.SUCCESS;
    }
    case Oid['802_3_MULTICAST_LIST']: {
      if (!(value instanceof Uint8Array) || value.length % 6 !== 0) return NdisStatus.INVALID_LENGTH;
      const count = value.length / 6;
      if (count > MAX_MULTICAST_ADDRESSES) return NdisStatus.MULTICAST_FULL;
      const list: string[] = [];
      for (let i = 0; i < count; i++) {
        if ((value[i * 6]! & 1) === 0) return NdisStatus.INVALID_DATA;
        list.push(macText(value, i * 6));
      }
      await core.setMulticastList(list);
      request.bytesRead = value.length;
      return NdisStatus.SUCCESS;
    }
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
      return NdisStatus.NOT_SUPPORTED;
  }
}
