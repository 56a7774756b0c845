import { BugCheckCode, type Kernel } from '../../kernel/index.ts';

/** BUGCODE_NDIS_DRIVER: NDIS detected an error in a network driver. */
export const BUGCODE_NDIS_DRIVER = BugCheckCode.BUGCODE_NDIS_DRIVER;

/**
 * Parameter 1 of BUGCODE_NDIS_DRIVER. 0x05 and 0x08 are Windows' own values (see the 0x7C
 * reference page); 0xE1xx values are dirql's: checks Windows' NDIS verifier makes under other names,
 * or that only this host can make.
 */
export const NdisViolation = {
  /** An Ethernet miniport indicated a receive with a packet/NBL the protocol stack still uses. */
  INDICATED_PACKET_IN_USE: 0x05,
  /** The miniport did not deregister its interrupt during MiniportHalt(Ex). */
  INTERRUPT_NOT_DEREGISTERED_AT_HALT: 0x08,
  /** An NDIS handle that is not (or no longer) valid: a deregistered interrupt, a halted adapter, a freed pool. */
  INVALID_HANDLE: 0xe101,
  /** An NBL/packet completed, freed or returned by a driver that does not own it (double completion, freeing an indicated NBL). */
  NBL_NOT_OWNED: 0xe102,
  /** The count given with an NBL chain / packet array does not match the chain. */
  NBL_COUNT_MISMATCH: 0xe103,
  /** NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL (or a *_DISPATCH_LEVEL flag) given while the IRQL is below DISPATCH_LEVEL. */
  DISPATCH_FLAG_BELOW_DISPATCH: 0xe104,
  /** A receive indicated while the adapter is not running (paused, halted, still initializing). */
  INDICATION_WHILE_NOT_RUNNING: 0xe105,
  /** NdisMSetMiniportAttributes / NdisMSetAttributesEx misuse: outside MiniportInitialize(Ex), wrong order. */
  BAD_ATTRIBUTES: 0xe106,
  /** An NBL pool freed with NBLs still allocated from it. */
  POOL_FREED_WITH_OUTSTANDING_NBLS: 0xe107,
  /** MiniportPause completed with sends not completed or receive indications not returned. */
  PAUSE_WITH_OUTSTANDING_NBLS: 0xe108,
  /** A spin lock freed while held, or used after it was freed. */
  SPIN_LOCK_FREED: 0xe109,
  /** A completion (OID, pause, restart) for something that was not pending. */
  UNEXPECTED_COMPLETION: 0xe10a,
  /** A miniport handler returned a value NDIS does not accept. */
  BAD_RETURN_VALUE: 0xe10b,
  /** MiniportHalt(Ex) returned with a timer still set or not freed. */
  TIMER_LEFT_AT_HALT: 0xe10c,
} as const;

/** Stop the driver with BUGCODE_NDIS_DRIVER (throws). */
export function ndisBugCheck(kernel: Kernel, violation: number, api: string, message: string, p2 = 0, p3 = 0, p4 = 0): never {
  return kernel.bugCheck(BUGCODE_NDIS_DRIVER, violation, p2, p3, p4, { api, message });
}
