import { NdisStatus, Oid, type NDIS_STATUS, type NdisInformationRequest } from '../../../ndis/ndis5/index.ts';
import { E1000Error } from '../errors.ts';
import type { E1000Adapter } from '../miniport/index.ts';
import { MAC_OPTIONS, MAX_FRAME_SIZE, answer, queryCommonOid, setCommonOid } from '../common/ndis-oid.ts';

export { MAC_OPTIONS, NdisMediaState, SUPPORTED_PACKET_FILTERS, linkSpeed100bps, packetFilterBits } from '../common/ndis-oid.ts';

/** OIDs MiniportQueryInformation answers (OID_GEN_SUPPORTED_LIST). */
export const SUPPORTED_OIDS_5: readonly number[] = [
  Oid.GEN_SUPPORTED_LIST,
  Oid.GEN_HARDWARE_STATUS,
  Oid.GEN_MEDIA_SUPPORTED,
  Oid.GEN_MEDIA_IN_USE,
  Oid.GEN_MAXIMUM_LOOKAHEAD,
  Oid.GEN_MAXIMUM_FRAME_SIZE,
  Oid.GEN_LINK_SPEED,
  Oid.GEN_TRANSMIT_BUFFER_SPACE,
  Oid.GEN_RECEIVE_BUFFER_SPACE,
  Oid.GEN_VENDOR_ID,
  Oid.GEN_VENDOR_DESCRIPTION,
  Oid.GEN_CURRENT_PACKET_FILTER,
  Oid.GEN_CURRENT_LOOKAHEAD,
  Oid.GEN_DRIVER_VERSION,
  Oid.GEN_MAXIMUM_TOTAL_SIZE,
  Oid.GEN_MAC_OPTIONS,
  Oid.GEN_MEDIA_CONNECT_STATUS,
  Oid.GEN_MAXIMUM_SEND_PACKETS,
  Oid.GEN_VENDOR_DRIVER_VERSION,
  Oid.GEN_XMIT_OK,
  Oid.GEN_RCV_OK,
  Oid.GEN_XMIT_ERROR,
  Oid.GEN_RCV_ERROR,
  Oid.GEN_RCV_NO_BUFFER,
  Oid['802_3_PERMANENT_ADDRESS'],
  Oid['802_3_CURRENT_ADDRESS'],
  Oid['802_3_MULTICAST_LIST'],
  Oid['802_3_MAXIMUM_LIST_SIZE'],
  Oid['802_3_RCV_ERROR_ALIGNMENT'],
  Oid['802_3_XMIT_ONE_COLLISION'],
  Oid['802_3_XMIT_MORE_COLLISIONS'],
];

/** Bytes of one descriptor's buffer. */
const SLOT_BYTES = 2048;
/** NDIS 5.1 (OID_GEN_DRIVER_VERSION: major in the high byte). */
const NDIS_VERSION = 0x0501;
const VENDOR_DRIVER_VERSION = 0x00010000;

export interface Ndis5OidContext {
  core: E1000Adapter;
  /** OID_GEN_MAXIMUM_SEND_PACKETS: packets per MiniportSendPackets call worth giving. */
  maximumSendPackets: number;
  /** Descriptors per ring (each with a 2 KiB buffer): the buffer space OIDs. */
  txRingSize: number;
  rxRingSize: number;
}

/** MiniportQueryInformation body (DISPATCH_LEVEL), answered synchronously. */
export async function queryInformation(ctx: Ndis5OidContext, request: NdisInformationRequest): Promise<NDIS_STATUS> {
  switch (request.oid) {
    case Oid.GEN_SUPPORTED_LIST:
      return answer(request, [...SUPPORTED_OIDS_5], SUPPORTED_OIDS_5.length * 4);
    case Oid.GEN_TRANSMIT_BUFFER_SPACE:
      return answer(request, ctx.txRingSize * SLOT_BYTES, 4);
    case Oid.GEN_RECEIVE_BUFFER_SPACE:
      return answer(request, ctx.rxRingSize * SLOT_BYTES, 4);
    case Oid.GEN_VENDOR_DESCRIPTION:
      return answer(request, 'dirql Intel 82540EM (e1000) NDIS 5.1 miniport', 46);
    case Oid.GEN_DRIVER_VERSION:
      return answer(request, NDIS_VERSION, 2);
    case Oid.GEN_VENDOR_DRIVER_VERSION:
      return answer(request, VENDOR_DRIVER_VERSION, 4);
    case Oid.GEN_MAC_OPTIONS:
      return answer(request, MAC_OPTIONS, 4);
    case Oid.GEN_MAXIMUM_SEND_PACKETS:
      return answer(request, ctx.maximumSendPackets, 4);
    case Oid['802_3_RCV_ERROR_ALIGNMENT']:
    case Oid['802_3_XMIT_ONE_COLLISION']:
    case Oid['802_3_XMIT_MORE_COLLISIONS']: {
      const nic = (await ctx.core.statistics()).nic;
      switch (request.oid) {
        case Oid['802_3_RCV_ERROR_ALIGNMENT']:
          return answer(request, nic.alignmentErrors, 4);
        case Oid['802_3_XMIT_ONE_COLLISION']:
          return answer(request, nic.singleCollisions, 4);
        default:
          return answer(request, nic.multipleCollisions, 4);
      }
    }
    default:
      return (await queryCommonOid(ctx.core, request, ctx.core.permanentMac)) ?? NdisStatus.INVALID_OID;
  }
}

/** MiniportSetInformation body (DISPATCH_LEVEL), answered synchronously. */
export async function setInformation(ctx: Ndis5OidContext, request: NdisInformationRequest): Promise<NDIS_STATUS> {
  const value = request.informationBuffer;
  try {
    if (request.oid === Oid.GEN_CURRENT_LOOKAHEAD) {
      if (typeof value !== 'number' || value > MAX_FRAME_SIZE) return NdisStatus.INVALID_DATA;
      request.bytesRead = 4;
      return NdisStatus.SUCCESS;
    }
    return (await setCommonOid(ctx.core, request)) ?? NdisStatus.INVALID_OID;
  } catch (err) {
    // A value the hardware layer refused (E1000ConfigError...) is the requester's problem, not a crash.
    if (err instanceof E1000Error) return NdisStatus.INVALID_DATA;
    throw err;
  }
}
