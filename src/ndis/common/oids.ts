/**
 * Object identifiers (ntddndis.h) and the value types dirql uses for their information buffers.
 * dirql passes JavaScript values, not packed C structures: the table below says which.
 */
export const Oid = {
  GEN_SUPPORTED_LIST: 0x00010101,
  GEN_HARDWARE_STATUS: 0x00010102,
  GEN_MEDIA_SUPPORTED: 0x00010103,
  GEN_MEDIA_IN_USE: 0x00010104,
  GEN_MAXIMUM_LOOKAHEAD: 0x00010105,
  GEN_MAXIMUM_FRAME_SIZE: 0x00010106,
  GEN_LINK_SPEED: 0x00010107,
  GEN_TRANSMIT_BUFFER_SPACE: 0x00010108,
  GEN_RECEIVE_BUFFER_SPACE: 0x00010109,
  GEN_VENDOR_ID: 0x0001010c,
  GEN_VENDOR_DESCRIPTION: 0x0001010d,
  /** number: NDIS_PACKET_TYPE_* bits. */
  GEN_CURRENT_PACKET_FILTER: 0x0001010e,
  GEN_CURRENT_LOOKAHEAD: 0x0001010f,
  GEN_DRIVER_VERSION: 0x00010110,
  GEN_MAXIMUM_TOTAL_SIZE: 0x00010111,
  GEN_MAC_OPTIONS: 0x00010113,
  /** NDIS 5: number, NdisMediaStateConnected (0) / Disconnected (1). */
  GEN_MEDIA_CONNECT_STATUS: 0x00010114,
  GEN_MAXIMUM_SEND_PACKETS: 0x00010115,
  GEN_VENDOR_DRIVER_VERSION: 0x00010116,
  /** NdisLinkState (query). */
  GEN_LINK_STATE: 0x00010207,
  GEN_LINK_PARAMETERS: 0x00010208,
  /** NdisInterruptModerationParameters (query and set). */
  GEN_INTERRUPT_MODERATION: 0x00010209,
  /** number (ULONG64 counters as JS numbers). */
  GEN_XMIT_OK: 0x00020101,
  GEN_RCV_OK: 0x00020102,
  GEN_XMIT_ERROR: 0x00020103,
  GEN_RCV_ERROR: 0x00020104,
  GEN_RCV_NO_BUFFER: 0x00020105,
  /** NdisStatisticsInfo (query). */
  GEN_STATISTICS: 0x00020106,
  /** Uint8Array(6). */
  '802_3_PERMANENT_ADDRESS': 0x01010101,
  /** Uint8Array(6). */
  '802_3_CURRENT_ADDRESS': 0x01010102,
  /** Uint8Array, 6 bytes per address (length a multiple of 6, 0 clears the list). */
  '802_3_MULTICAST_LIST': 0x01010103,
  /** number. */
  '802_3_MAXIMUM_LIST_SIZE': 0x01010104,
  '802_3_RCV_ERROR_ALIGNMENT': 0x01020101,
  '802_3_XMIT_ONE_COLLISION': 0x01020102,
  '802_3_XMIT_MORE_COLLISIONS': 0x01020103,
} as const;

export const OID_GEN_CURRENT_PACKET_FILTER = Oid.GEN_CURRENT_PACKET_FILTER;
export const OID_GEN_INTERRUPT_MODERATION = Oid.GEN_INTERRUPT_MODERATION;
export const OID_GEN_STATISTICS = Oid.GEN_STATISTICS;
export const OID_GEN_XMIT_OK = Oid.GEN_XMIT_OK;
export const OID_GEN_RCV_OK = Oid.GEN_RCV_OK;
export const OID_GEN_LINK_STATE = Oid.GEN_LINK_STATE;
export const OID_GEN_MEDIA_CONNECT_STATUS = Oid.GEN_MEDIA_CONNECT_STATUS;
export const OID_802_3_PERMANENT_ADDRESS = Oid['802_3_PERMANENT_ADDRESS'];
export const OID_802_3_CURRENT_ADDRESS = Oid['802_3_CURRENT_ADDRESS'];
export const OID_802_3_MULTICAST_LIST = Oid['802_3_MULTICAST_LIST'];
export const OID_802_3_MAXIMUM_LIST_SIZE = Oid['802_3_MAXIMUM_LIST_SIZE'];

const oidNames = new Map<number, string>(Object.entries(Oid).map(([k, v]) => [v, `OID_${k}`]));

export function oidName(oid: number): string {
  return oidNames.get(oid >>> 0) ?? `OID 0x${(oid >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** NDIS_PACKET_TYPE_* bits of OID_GEN_CURRENT_PACKET_FILTER. */
export const NdisPacketType = {
  DIRECTED: 0x00000001,
  MULTICAST: 0x00000002,
  ALL_MULTICAST: 0x00000004,
  BROADCAST: 0x00000008,
  SOURCE_ROUTING: 0x00000010,
  PROMISCUOUS: 0x00000020,
  SMT: 0x00000040,
  ALL_LOCAL: 0x00000080,
  GROUP: 0x00001000,
  ALL_FUNCTIONAL: 0x00002000,
  FUNCTIONAL: 0x00004000,
  MAC_FRAME: 0x00008000,
} as const;

/** NDIS_REQUEST_TYPE. */
export const NdisRequestType = {
  QueryInformation: 0,
  SetInformation: 1,
  QueryStatistics: 2,
  Method: 12,
} as const;
export type NdisRequestTypeValue = (typeof NdisRequestType)[keyof typeof NdisRequestType];

/** NDIS_INTERRUPT_MODERATION. */
export const NdisInterruptModeration = {
  Unknown: 0,
  NotSupported: 1,
  Enabled: 2,
  Disabled: 3,
} as const;

/** NDIS_INTERRUPT_MODERATION_PARAMETERS: the value of OID_GEN_INTERRUPT_MODERATION. */
export interface NdisInterruptModerationParameters {
  /** NDIS_INTERRUPT_MODERATION_CHANGE_NEEDS_RESET (1), NDIS_INTERRUPT_MODERATION_CHANGE_NEEDS_REINITIALIZE (2). */
  flags: number;
  interruptModeration: (typeof NdisInterruptModeration)[keyof typeof NdisInterruptModeration];
}

/** NDIS_STATISTICS_FLAGS_VALID_* bits of NDIS_STATISTICS_INFO.SupportedStatistics. */
export const NdisStatisticsFlags = {
  VALID_DIRECTED_FRAMES_RCV: 0x00000001,
  VALID_MULTICAST_FRAMES_RCV: 0x00000002,
  VALID_BROADCAST_FRAMES_RCV: 0x00000004,
  VALID_BYTES_RCV: 0x00000008,
  VALID_RCV_DISCARDS: 0x00000010,
  VALID_RCV_ERROR: 0x00000020,
  VALID_DIRECTED_FRAMES_XMIT: 0x00000040,
  VALID_MULTICAST_FRAMES_XMIT: 0x00000080,
  VALID_BROADCAST_FRAMES_XMIT: 0x00000100,
  VALID_BYTES_XMIT: 0x00000200,
  VALID_XMIT_ERROR: 0x00000400,
  VALID_XMIT_DISCARDS: 0x00008000,
  VALID_DIRECTED_BYTES_RCV: 0x00010000,
  VALID_MULTICAST_BYTES_RCV: 0x00020000,
  VALID_BROADCAST_BYTES_RCV: 0x00040000,
  VALID_DIRECTED_BYTES_XMIT: 0x00080000,
  VALID_MULTICAST_BYTES_XMIT: 0x00100000,
  VALID_BROADCAST_BYTES_XMIT: 0x00200000,
} as const;

/** NDIS_STATISTICS_INFO: the value of OID_GEN_STATISTICS (ULONG64 counters as JS numbers). */
export interface NdisStatisticsInfo {
  supportedStatistics: number;
  ifInDiscards: number;
  ifInErrors: number;
  ifHCInOctets: number;
  ifHCInUcastPkts: number;
  ifHCInMulticastPkts: number;
  ifHCInBroadcastPkts: number;
  ifHCOutOctets: number;
  ifHCOutUcastPkts: number;
  ifHCOutMulticastPkts: number;
  ifHCOutBroadcastPkts: number;
  ifOutErrors: number;
  ifOutDiscards: number;
  ifHCInUcastOctets: number;
  ifHCInMulticastOctets: number;
  ifHCInBroadcastOctets: number;
  ifHCOutUcastOctets: number;
  ifHCOutMulticastOctets: number;
  ifHCOutBroadcastOctets: number;
}

/** NDIS_MEDIA_CONNECT_STATE. */
export const MediaConnectState = {
  Unknown: 0,
  Connected: 1,
  Disconnected: 2,
} as const;
export type MediaConnectStateValue = (typeof MediaConnectState)[keyof typeof MediaConnectState];

/** NDIS_MEDIA_DUPLEX_STATE. */
export const MediaDuplexState = {
  Unknown: 0,
  Half: 1,
  Full: 2,
} as const;
export type MediaDuplexStateValue = (typeof MediaDuplexState)[keyof typeof MediaDuplexState];

/** NDIS_LINK_SPEED_UNKNOWN (bits per second field). */
export const NDIS_LINK_SPEED_UNKNOWN = -1;

/** NDIS_LINK_STATE: the buffer of NDIS_STATUS_LINK_STATE and the value of OID_GEN_LINK_STATE. Speeds in bits/s. */
export interface NdisLinkState {
  mediaConnectState: MediaConnectStateValue;
  mediaDuplexState: MediaDuplexStateValue;
  xmitLinkSpeed: number;
  rcvLinkSpeed: number;
  /** NDIS_SUPPORTED_PAUSE_FUNCTIONS; default NdisPauseFunctionsUnsupported (0). */
  pauseFunctions?: number;
  autoNegotiationFlags?: number;
}

/** NDIS_MEDIUM. */
export const NdisMedium = {
  '802_3': 0,
} as const;
