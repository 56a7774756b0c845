import { BugCheckCode, type Kernel } from '../../kernel/index.ts';

/** BUGCODE_NDIS_DRIVER: NDIS detected an error in a network driver. */
export const BUGCODE_NDIS_DRIVER = BugCheckCode.BUGCODE_NDIS_DRIVER;

/**
 * Parameter 1 of BUGCODE_NDIS_DRIVER. Values below 0x100 are Windows' own (the 0x7C reference page,
 * with its parameters); 0xE1xx values are dirql's: faults the 0x7C page has no subcode for, which
 * Windows meets later as a hang, a leak or corruption, or not at all.
 */
export const NdisViolation = {
  /** An Ethernet miniport indicated a receive with a packet/NBL the protocol stack still uses. */
  INDICATED_PACKET_IN_USE: 0x05,
  /** NDIS_BUGCHECK_HALT_WITHOUT_INTERRUPT_DEREGISTER: MiniportHalt(Ex) returned with its interrupt registered. P2 adapter, P3 interrupt. */
  INTERRUPT_NOT_DEREGISTERED_AT_HALT: 0x08,
  /** NDIS_BUGCHECK_HALT_WITHOUT_CANCEL_TIMER: MiniportHalt(Ex) returned with a timer set (or, NDIS 6, not freed). P2 adapter, P3 timers. */
  TIMER_LEFT_AT_HALT: 0x09,
  /** NDIS_BUGCHECK_INIT_FAILED_WITHOUT_INTERRUPT_DEREGISTER: a failed MiniportInitialize(Ex) left its interrupt registered. */
  INTERRUPT_NOT_DEREGISTERED_AT_FAILED_INIT: 0x0b,
  /** NDIS_BUGCHECK_INIT_FAILED_WITHOUT_CANCEL_TIMER: a failed MiniportInitialize(Ex) left a timer set. */
  TIMER_LEFT_AT_FAILED_INIT: 0x0c,
  /** NDIS_BUGCHECK_ILLEGAL_MINIPORT_STATE_TRANSITION: NdisMPauseComplete / NdisMRestartComplete with nothing pending. P2 `StateTransition`, P3 adapter. */
  ILLEGAL_MINIPORT_STATE_TRANSITION: 0x1f,
  /** NDIS_BUGCHECK_INVALID_OID_COMPLETION: an OID (NDIS 5: query/set information) completed that is not pending. P2 adapter, P3 request. */
  INVALID_OID_COMPLETION: 0x26,
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
  /** A miniport handler returned a value NDIS does not accept. */
  BAD_RETURN_VALUE: 0xe10b,
} as const;

/**
 * P2 of ILLEGAL_MINIPORT_STATE_TRANSITION. Windows names these subcodes
 * (NDIS_BUGCHECK_ILLEGAL_MINIPORT_STATE_TRANSITION_PAUSE_COMPLETE, …_RESTART_COMPLETE) without
 * publishing their values: these numbers are dirql's.
 */
export const StateTransition = { PAUSE_COMPLETE: 1, RESTART_COMPLETE: 2 } as const;

/** Stop the driver with BUGCODE_NDIS_DRIVER (throws). */
export function ndisBugCheck(kernel: Kernel, violation: number, api: string, message: string, p2 = 0, p3 = 0, p4 = 0): never {
  return kernel.bugCheck(BUGCODE_NDIS_DRIVER, violation, p2, p3, p4, { api, message });
}
