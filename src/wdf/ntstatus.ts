/**
 * NTSTATUS values the KMDF facade returns or expects from driver callbacks. Kept as signed 32-bit
 * numbers, as the C type LONG is, so that NT_SUCCESS is simply `status >= 0`.
 */
export type NTSTATUS = number;

const s = (v: number): NTSTATUS => v | 0;

export const NtStatus = {
  STATUS_SUCCESS: 0,
  STATUS_TIMEOUT: 0x102,
  STATUS_PENDING: 0x103,
  STATUS_UNSUCCESSFUL: s(0xc0000001),
  STATUS_NOT_IMPLEMENTED: s(0xc0000002),
  STATUS_INFO_LENGTH_MISMATCH: s(0xc0000004),
  STATUS_INVALID_PARAMETER: s(0xc000000d),
  STATUS_INVALID_DEVICE_REQUEST: s(0xc0000010),
  STATUS_BUFFER_TOO_SMALL: s(0xc0000023),
  STATUS_INSUFFICIENT_RESOURCES: s(0xc000009a),
  STATUS_DEVICE_NOT_READY: s(0xc00000a3),
  STATUS_DEVICE_CONFIGURATION_ERROR: s(0xc0000182),
  STATUS_NOT_SUPPORTED: s(0xc00000bb),
  STATUS_CANCELLED: s(0xc0000120),
  STATUS_INVALID_DEVICE_STATE: s(0xc0000184),
  STATUS_NO_MORE_ENTRIES: s(0x8000001a),
  STATUS_DEVICE_REMOVED: s(0xc00002b6),
  /** wdfstatus.h: the parent's callback lock does not fit the callback's execution level. */
  STATUS_WDF_INCOMPATIBLE_EXECUTION_LEVEL: s(0xc020020c),
  /** wdfstatus.h: a power-managed queue while the device is not in D0. */
  STATUS_WDF_PAUSED: s(0xc0200203),
  /** wdfstatus.h: this object type may not be given a parent here. */
  STATUS_WDF_PARENT_ASSIGNMENT_NOT_ALLOWED: s(0xc020020f),
  /** wdfstatus.h: a parent object is required (WdfWorkItemCreate). */
  STATUS_WDF_PARENT_NOT_SPECIFIED: s(0xc0200212),
} as const;

/** NT_SUCCESS. */
export function ntSuccess(status: NTSTATUS): boolean {
  return status >= 0;
}

const names = new Map<number, string>(Object.entries(NtStatus).map(([k, v]) => [v, k]));

/** "STATUS_CANCELLED (0xC0000120)", for messages. */
export function ntStatusText(status: NTSTATUS): string {
  const hex = `0x${(status >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
  const name = names.get(status);
  return name ? `${name} (${hex})` : hex;
}
