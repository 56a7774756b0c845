import {
  NdisMedium,
  NdisPacketType,
  NdisStatus,
  Oid,
  type NDIS_STATUS,
  type NdisInformationRequest,
} from '../../../ndis/ndis5/index.ts';
import { E1000Error } from '../errors.ts';
import { MAX_MULTICAST_ADDRESSES, type E1000Adapter } from '../miniport/index.ts';

/** Packet types the 82540EM filters in hardware (DIRECTED is always on). */
export const SUPPORTED_PACKET_FILTERS =
  NdisPacketType.DIRECTED | NdisPacketType.MULTICAST | NdisPacketType.ALL_MULTICAST | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS;

/** OIDs MiniportQueryInformation answers (OID_GEN_SUPPORTED_LIST). */
export const SUPPORTED_OIDS_5: readonly number[] = [
  Oid.GEN_SUPPORTED_LIST, Oid.GEN_HARDWARE_STATUS, Oid.GEN_MEDIA_SUPPORTED, Oid.GEN_MEDIA_IN_USE,
  Oid.GEN_MAXIMUM_LOOKAHEAD, Oid.GEN_MAXIMUM_FRAME_SIZE, Oid.GEN_LINK_SPEED, Oid.GEN_TRANSMIT_BUFFER_SPACE,
  Oid.GEN_RECEIVE_BUFFER_SPACE, Oid.GEN_VENDOR_ID, Oid.GEN_VENDOR_DESCRIPTION, Oid.GEN_CURRENT_PACKET_FILTER,
  Oid.GEN_CURRENT_LOOKAHEAD, Oid.GEN_DRIVER_VERSION, Oid.GEN_MAXIMUM_TOTAL_SIZE, Oid.GEN_MAC_OPTIONS,
  Oid.GEN_MEDIA_CONNECT_STATUS, Oid.GEN_MAXIMUM_SEND_PACKETS, Oid.GEN_VENDOR_DRIVER_VERSION,
  Oid.GEN_XMIT_OK, Oid.GEN_RCV_OK, Oid.GEN_XMIT_ERROR, Oid.GEN_RCV_ERROR, Oid.GEN_RCV_NO_BUFFER,
  Oid['802_3_PERMANENT_ADDRESS'], Oid['802_3_CURRENT_ADDRESS'], Oid['802_3_MULTICAST_LIST'], Oid['802_3_MAXIMUM_LIST_SIZE'],
  Oid['802_3_RCV_ERROR_ALIGNMENT'], Oid['802_3_XMIT_ONE_COLLISION'], Oid['802_3_XMIT_MORE_COLLISIONS'],
];

/** NdisMediaStateConnected / NdisMediaStateDisconnected (OID_GEN_MEDIA_CONNECT_STATUS). */
export const NdisMediaState = { Connected: 0, Disconnected: 1 } as const;

const NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA = 0x00000001;
const NDIS_MAC_OPTION_TRANSFERS_NOT_PEND = 0x00000002;
const NDIS_MAC_OPTION_NO_LOOPBACK = 0x00000008;
export const MAC_OPTIONS = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND | NDIS_MAC_OPTION_NO_LOOPBACK;

/** Bytes of one descriptor's buffer. */
const SLOT_BYTES = 2048;
const MAX_FRAME_SIZE = 1500;
const MAX_TOTAL_SIZE = 1514;
/** Intel's IEEE OUI in the low 24 bits. */
const VENDOR_ID = 0x001b21;
/** NDIS 5.1 (OID_GEN_DRIVER_VERSION: major in the high byte). */
const NDIS_VERSION = 0x0501;
const VENDOR_DRIVER_VERSION = 0x00010000;

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
}

function macText(bytes: Uint8Array, at: number): string {
  return Array.from(bytes.subarray(at, at + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** OID_GEN_LINK_SPEED is in units of 100 bits per second. */
export function linkSpeed100bps(speedMbps: number): number {
  return speedMbps * 10_000;
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

export interface Ndis5OidContext {
  core: E1000Adapter;
  /** OID_GEN_MAXIMUM_SEND_PACKETS: packets per MiniportSendPackets call worth giving. */
  maximumSendPackets: number;
  /** Descriptors per ring (each with a 2 KiB buffer): the buffer space OIDs. */
  txRingSize: number;
  rxRingSize: number;
}

function answer(request: NdisInformationRequest, value: unknown, bytes: number): NDIS_STATUS {
  request.informationBuffer = value;
  request.bytesWritten = bytes;
  return NdisStatus.SUCCESS;
}

/** MiniportQueryInformation body (DISPATCH_LEVEL), answered synchronously. */
export async function queryInformation(ctx: Ndis5OidContext, request: NdisInformationRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  switch (request.oid) {
    case Oid.GEN_SUPPORTED_LIST: return answer(request, [...SUPPORTED_OIDS_5], SUPPORTED_OIDS_5.length * 4);
    case Oid.GEN_HARDWARE_STATUS: return answer(request, 0, 4);
    case Oid.GEN_MEDIA_SUPPORTED:
    case Oid.GEN_MEDIA_IN_USE: return answer(request, NdisMedium['802_3'], 4);
    case Oid.GEN_MAXIMUM_LOOKAHEAD:
    case Oid.GEN_CURRENT_LOOKAHEAD:
    case Oid.GEN_MAXIMUM_FRAME_SIZE: return answer(request, MAX_FRAME_SIZE, 4);
    case Oid.GEN_MAXIMUM_TOTAL_SIZE: return answer(request, MAX_TOTAL_SIZE, 4);
    case Oid.GEN_LINK_SPEED: return answer(request, linkSpeed100bps(core.link.speedMbps), 4);
    case Oid.GEN_TRANSMIT_BUFFER_SPACE: return answer(request, ctx.txRingSize * SLOT_BYTES, 4);
    case Oid.GEN_RECEIVE_BUFFER_SPACE: return answer(request, ctx.rxRingSize * SLOT_BYTES, 4);
    case Oid.GEN_VENDOR_ID: return answer(request, VENDOR_ID, 4);
    case Oid.GEN_VENDOR_DESCRIPTION: return answer(request, 'dirql Intel 82540EM (e1000) NDIS 5.1 miniport', 46);
    case Oid.GEN_DRIVER_VERSION: return answer(request, NDIS_VERSION, 2);
    case Oid.GEN_VENDOR_DRIVER_VERSION: return answer(request, VENDOR_DRIVER_VERSION, 4);
    case Oid.GEN_MAC_OPTIONS: return answer(request, MAC_OPTIONS, 4);
    case Oid.GEN_MAXIMUM_SEND_PACKETS: return answer(request, ctx.maximumSendPackets, 4);
    case Oid.GEN_CURRENT_PACKET_FILTER: return answer(request, packetFilterBits(core), 4);
    case Oid.GEN_MEDIA_CONNECT_STATUS: return answer(request, core.link.up ? NdisMediaState.Connected : NdisMediaState.Disconnected, 4);
    case Oid['802_3_PERMANENT_ADDRESS']: return answer(request, macBytes(core.permanentMac), 6);
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
    case Oid['802_3_RCV_ERROR_ALIGNMENT']:
    case Oid['802_3_XMIT_ONE_COLLISION']:
    case Oid['802_3_XMIT_MORE_COLLISIONS']: {
      const s = await core.statistics();
      const nic = s.nic;
      switch (request.oid) {
        case Oid.GEN_XMIT_OK: return answer(request, nic.goodPacketsTransmitted, 8);
        case Oid.GEN_RCV_OK: return answer(request, nic.goodPacketsReceived, 8);
        case Oid.GEN_XMIT_ERROR: return answer(request, nic.excessiveCollisions + nic.lateCollisions + s.driver.txAborted, 8);
        case Oid.GEN_RCV_ERROR: return answer(request, nic.crcErrors + nic.alignmentErrors + nic.symbolErrors + nic.rxErrors + nic.receiveOversize + nic.receiveUndersize, 8);
        case Oid.GEN_RCV_NO_BUFFER: return answer(request, nic.missedPackets + nic.receiveNoBuffers, 8);
        case Oid['802_3_RCV_ERROR_ALIGNMENT']: return answer(request, nic.alignmentErrors, 4);
        case Oid['802_3_XMIT_ONE_COLLISION']: return answer(request, nic.singleCollisions, 4);
        default: return answer(request, nic.multipleCollisions, 4);
      }
    }
    default:
      return NdisStatus.INVALID_OID;
  }
}

/** MiniportSetInformation body (DISPATCH_LEVEL), answered synchronously. */
export async function setInformation(ctx: Ndis5OidContext, request: NdisInformationRequest): Promise<NDIS_STATUS> {
  const core = ctx.core;
  const value = request.informationBuffer;
  try {
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
      case Oid.GEN_CURRENT_LOOKAHEAD:
        if (typeof value !== 'number' || value > MAX_FRAME_SIZE) return NdisStatus.INVALID_DATA;
        request.bytesRead = 4;
        return NdisStatus.SUCCESS;
      default:
        return NdisStatus.INVALID_OID;
    }
  } catch (err) {
    // A value the hardware layer refused (E1000ConfigError...) is the requester's problem, not a crash.
    if (err instanceof E1000Error) return NdisStatus.INVALID_DATA;
    throw err;
  }
}
