import { NdisMedium, NdisPacketType, NdisStatus, Oid, type NDIS_STATUS } from '../../../ndis/common/index.ts';
import { formatMac } from '../mac-address.ts';
import { MAX_MULTICAST_ADDRESSES, MAX_RECEIVE_FRAME_LENGTH, type E1000Adapter } from '../miniport/index.ts';

/**
 * The OID answers the e1000 gives alike under NDIS 5.1 (MiniportQueryInformation /
 * MiniportSetInformation) and NDIS 6 (MiniportOidRequest). Each version keeps its own supported
 * list, version strings, unknown-OID status and version-only OIDs, and asks here for the rest.
 */

/** The part of NDIS_REQUEST / NDIS_OID_REQUEST both versions fill the same way. */
export interface OidRequestBuffers {
  readonly oid: number;
  informationBuffer: unknown;
  bytesWritten: number;
  bytesRead: number;
}

/** Packet types the 82540EM filters in hardware (DIRECTED is always on). */
export const SUPPORTED_PACKET_FILTERS = NdisPacketType.DIRECTED | NdisPacketType.MULTICAST | NdisPacketType.ALL_MULTICAST | NdisPacketType.BROADCAST | NdisPacketType.PROMISCUOUS;

/** NdisMediaStateConnected / NdisMediaStateDisconnected (OID_GEN_MEDIA_CONNECT_STATUS). */
export const NdisMediaState = { Connected: 0, Disconnected: 1 } as const;

const NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA = 0x00000001;
const NDIS_MAC_OPTION_TRANSFERS_NOT_PEND = 0x00000002;
const NDIS_MAC_OPTION_NO_LOOPBACK = 0x00000008;
/** OID_GEN_MAC_OPTIONS (NDIS 5) and the general attributes' MacOptions (NDIS 6). */
export const MAC_OPTIONS = NDIS_MAC_OPTION_COPY_LOOKAHEAD_DATA | NDIS_MAC_OPTION_TRANSFERS_NOT_PEND | NDIS_MAC_OPTION_NO_LOOPBACK;

export const MAX_FRAME_SIZE = 1500;
/** OID_GEN_MAXIMUM_TOTAL_SIZE: what the core's receive path lets through. */
const MAX_TOTAL_SIZE = MAX_RECEIVE_FRAME_LENGTH;
/** Intel's IEEE OUI in the low 24 bits. */
const VENDOR_ID = 0x001b21;

export function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((h) => Number.parseInt(h, 16)));
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

/** A query's answer: the value and how many bytes NDIS would have copied. */
export function answer(request: OidRequestBuffers, value: unknown, bytes: number): NDIS_STATUS {
  request.informationBuffer = value;
  request.bytesWritten = bytes;
  return NdisStatus.SUCCESS;
}

/**
 * Answers the queries both versions answer alike; undefined when `request.oid` is not one of them.
 * `permanentMac` is OID_802_3_PERMANENT_ADDRESS's source (NDIS 6 takes it from its OID context).
 */
export async function queryCommonOid(core: E1000Adapter, request: OidRequestBuffers, permanentMac: string): Promise<NDIS_STATUS | undefined> {
  switch (request.oid) {
    case Oid.GEN_HARDWARE_STATUS:
      return answer(request, 0, 4);
    case Oid.GEN_MEDIA_SUPPORTED:
    case Oid.GEN_MEDIA_IN_USE:
      return answer(request, NdisMedium['802_3'], 4);
    case Oid.GEN_MAXIMUM_LOOKAHEAD:
    case Oid.GEN_CURRENT_LOOKAHEAD:
    case Oid.GEN_MAXIMUM_FRAME_SIZE:
      return answer(request, MAX_FRAME_SIZE, 4);
    case Oid.GEN_MAXIMUM_TOTAL_SIZE:
      return answer(request, MAX_TOTAL_SIZE, 4);
    case Oid.GEN_LINK_SPEED:
      return answer(request, linkSpeed100bps(core.link.speedMbps), 4);
    case Oid.GEN_VENDOR_ID:
      return answer(request, VENDOR_ID, 4);
    case Oid.GEN_CURRENT_PACKET_FILTER:
      return answer(request, packetFilterBits(core), 4);
    case Oid.GEN_MEDIA_CONNECT_STATUS:
      return answer(request, core.link.up ? NdisMediaState.Connected : NdisMediaState.Disconnected, 4);
    case Oid['802_3_PERMANENT_ADDRESS']:
      return answer(request, macBytes(permanentMac), 6);
    case Oid['802_3_CURRENT_ADDRESS']:
      return answer(request, macBytes(core.mac), 6);
    case Oid['802_3_MULTICAST_LIST']: {
      const list = core.packetFilter.multicast ?? [];
      const out = new Uint8Array(list.length * 6);
      list.forEach((m, i) => out.set(macBytes(m), i * 6));
      return answer(request, out, out.length);
    }
    case Oid['802_3_MAXIMUM_LIST_SIZE']:
      return answer(request, MAX_MULTICAST_ADDRESSES, 4);
    case Oid.GEN_XMIT_OK:
    case Oid.GEN_RCV_OK:
    case Oid.GEN_XMIT_ERROR:
    case Oid.GEN_RCV_ERROR:
    case Oid.GEN_RCV_NO_BUFFER: {
      const s = await core.statistics();
      const nic = s.nic;
      switch (request.oid) {
        case Oid.GEN_XMIT_OK:
          return answer(request, nic.goodPacketsTransmitted, 8);
        case Oid.GEN_RCV_OK:
          return answer(request, nic.goodPacketsReceived, 8);
        case Oid.GEN_XMIT_ERROR:
          return answer(request, nic.excessiveCollisions + nic.lateCollisions + s.driver.txAborted, 8);
        case Oid.GEN_RCV_ERROR:
          return answer(
            request,
            nic.crcErrors + nic.alignmentErrors + nic.symbolErrors + nic.rxErrors + nic.receiveOversize + nic.receiveUndersize + s.driver.rxOversizeDropped,
            8,
          );
        default:
          return answer(request, nic.missedPackets + nic.receiveNoBuffers, 8);
      }
    }
    default:
      return undefined;
  }
}

/**
 * Applies the sets both versions take alike (OID_GEN_CURRENT_PACKET_FILTER, OID_802_3_MULTICAST_LIST);
 * undefined when `request.oid` is not one of them. A value the hardware layer refuses throws
 * (E1000Error): the caller maps it to NDIS_STATUS_INVALID_DATA.
 */
export async function setCommonOid(core: E1000Adapter, request: OidRequestBuffers): Promise<NDIS_STATUS | undefined> {
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
        list.push(formatMac(value.subarray(i * 6)));
      }
      await core.setMulticastList(list);
      request.bytesRead = value.length;
      return NdisStatus.SUCCESS;
    }
    default:
      return undefined;
  }
}
