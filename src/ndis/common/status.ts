/**
 * NDIS_STATUS values (ndis.h). An NDIS_STATUS is a plain number so that Windows values pass through
 * unchanged; severity is in the top two bits, as for NTSTATUS.
 */
export type NDIS_STATUS = number;

export const NdisStatus = {
  SUCCESS: 0x00000000,
  PENDING: 0x00000103,
  NOT_RECOGNIZED: 0x00010001,
  NOT_COPIED: 0x00010002,
  NOT_ACCEPTED: 0x00010003,
  BUFFER_OVERFLOW: 0x80000005,
  FAILURE: 0xc0000001,
  INVALID_PARAMETER: 0xc000000d,
  INVALID_DEVICE_REQUEST: 0xc0000010,
  RESOURCES: 0xc000009a,
  NOT_SUPPORTED: 0xc00000bb,
  INVALID_STATE: 0xc0000184,
  CLOSING: 0xc0010002,
  BAD_VERSION: 0xc0010004,
  BAD_CHARACTERISTICS: 0xc0010005,
  ADAPTER_NOT_FOUND: 0xc0010006,
  OPEN_FAILED: 0xc0010007,
  DEVICE_FAILED: 0xc0010008,
  MULTICAST_FULL: 0xc0010009,
  MULTICAST_EXISTS: 0xc001000a,
  MULTICAST_NOT_FOUND: 0xc001000b,
  REQUEST_ABORTED: 0xc001000c,
  RESET_IN_PROGRESS: 0xc001000d,
  INVALID_PACKET: 0xc001000f,
  ADAPTER_NOT_READY: 0xc0010011,
  INVALID_LENGTH: 0xc0010014,
  INVALID_DATA: 0xc0010015,
  BUFFER_TOO_SHORT: 0xc0010016,
  INVALID_OID: 0xc0010017,
  ADAPTER_REMOVED: 0xc0010018,
  UNSUPPORTED_MEDIA: 0xc0010019,
  RESOURCE_CONFLICT: 0xc001001e,
  NO_CABLE: 0xc001001f,
  /** NDIS 6: STATUS_NDIS_REQUEST_ABORTED. */
  SEND_ABORTED: 0xc023000c,
  /** NDIS 6: STATUS_NDIS_MEDIA_DISCONNECTED. */
  MEDIA_DISCONNECTED: 0xc023001f,
  /** NDIS 6: STATUS_NDIS_PAUSED (sends completed by NDIS while the miniport is paused). */
  PAUSED: 0xc023002a,
  LOW_POWER_STATE: 0xc023002f,

  // Status indications (NdisMIndicateStatus / NdisMIndicateStatusEx).
  RESET_START: 0x40010004,
  RESET_END: 0x40010005,
  /** NDIS 5 link up. */
  MEDIA_CONNECT: 0x4001000b,
  /** NDIS 5 link down. */
  MEDIA_DISCONNECT: 0x4001000c,
  LINK_SPEED_CHANGE: 0x40010013,
  /** NDIS 6 link state (buffer: NDIS_LINK_STATE). */
  LINK_STATE: 0x40010017,
  PACKET_FILTER: 0x40010024,
} as const;

const statusNames = new Map<number, string>(Object.entries(NdisStatus).map(([k, v]) => [v, `NDIS_STATUS_${k}`]));

/** "NDIS_STATUS_RESOURCES", or the hex value for an unknown code. */
export function ndisStatusName(status: number): string {
  return statusNames.get(status >>> 0) ?? `NDIS_STATUS 0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** NT_SUCCESS: success and informational codes (severity bits 00 or 01). */
export function ndisStatusSucceeded(status: number): boolean {
  return status >>> 0 < 0x80000000;
}
