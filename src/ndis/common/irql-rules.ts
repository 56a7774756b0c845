import { Irql, type Kernel } from '../../kernel/index.ts';

/** Upper bound "the interrupt's DIRQL": resolved per call from the interrupt object. */
export const DIRQL = 'DIRQL' as const;

export interface IrqlRule {
  readonly min: number;
  readonly max: number | typeof DIRQL;
}

const P = Irql.PASSIVE_LEVEL;
const D = Irql.DISPATCH_LEVEL;
const H = Irql.HIGH_LEVEL;

/**
 * The IRQL range Microsoft documents for each NDIS call dirql implements (the "IRQL" row of each
 * reference page). Every facade entry point checks its row; a call outside the range is 0xC4/0xE5
 * (a kernel API at incorrect IRQL: NDIS's own IRQL rules are Static Driver Verifier's only, with no
 * run-time code) naming the API.
 */
export const NDIS_IRQL_RULES = {
  // NDIS 6
  NdisMRegisterMiniportDriver: { min: P, max: P },
  NdisMDeregisterMiniportDriver: { min: P, max: P },
  NdisMSetMiniportAttributes: { min: P, max: P },
  NdisMRegisterInterruptEx: { min: P, max: P },
  NdisMDeregisterInterruptEx: { min: P, max: P },
  NdisMSynchronizeWithInterruptEx: { min: P, max: DIRQL },
  NdisMQueueDpcEx: { min: P, max: DIRQL },
  NdisMIndicateReceiveNetBufferLists: { min: P, max: D },
  NdisMSendNetBufferListsComplete: { min: P, max: D },
  NdisMIndicateStatusEx: { min: P, max: D },
  NdisMOidRequestComplete: { min: P, max: D },
  NdisMPauseComplete: { min: P, max: D },
  NdisMRestartComplete: { min: P, max: D },
  NdisAllocateNetBufferListPool: { min: P, max: D },
  NdisFreeNetBufferListPool: { min: P, max: D },
  NdisAllocateNetBufferAndNetBufferList: { min: P, max: D },
  NdisFreeNetBufferList: { min: P, max: D },
  // NDIS 5
  NdisMRegisterMiniport: { min: P, max: P },
  NdisMSetAttributesEx: { min: P, max: P },
  NdisMRegisterInterrupt: { min: P, max: P },
  NdisMDeregisterInterrupt: { min: P, max: P },
  NdisMSynchronizeWithInterrupt: { min: P, max: DIRQL },
  NdisMIndicateReceivePacket: { min: P, max: D },
  NdisMSendComplete: { min: P, max: D },
  NdisMIndicateStatus: { min: P, max: D },
  NdisMIndicateStatusComplete: { min: P, max: D },
  NdisMQueryInformationComplete: { min: P, max: D },
  NdisMSetInformationComplete: { min: P, max: D },
  NdisAllocatePacketPool: { min: P, max: D },
  NdisFreePacketPool: { min: P, max: D },
  NdisAllocatePacket: { min: P, max: D },
  NdisFreePacket: { min: P, max: D },
  // Both
  NdisAllocateSpinLock: { min: P, max: H },
  NdisFreeSpinLock: { min: P, max: H },
  // Documented DISPATCH_LEVEL; below it the kernel's own spin-lock checks stop the driver first
  // (0xC4/0x40, 0x41), as KeAcquireSpinLockAtDpcLevel's would. NdisAcquireSpinLock and
  // NdisReleaseSpinLock have no row: the kernel's 0x42 and 0x32 are their checks.
  NdisDprAcquireSpinLock: { min: P, max: D },
  NdisDprReleaseSpinLock: { min: P, max: D },
  NdisAllocateTimerObject: { min: P, max: D },
  NdisSetTimerObject: { min: P, max: D },
  NdisCancelTimerObject: { min: P, max: D },
  NdisFreeTimerObject: { min: P, max: D },
  NdisMInitializeTimer: { min: P, max: D },
  NdisMSetTimer: { min: P, max: D },
  NdisMSetPeriodicTimer: { min: P, max: D },
  NdisMCancelTimer: { min: P, max: D },
  NdisInitializeEvent: { min: P, max: P },
  NdisSetEvent: { min: P, max: D },
  NdisResetEvent: { min: P, max: D },
  NdisWaitEvent: { min: P, max: P },
  NdisMSleep: { min: P, max: P },
  NdisStallExecution: { min: P, max: H },
} as const satisfies Record<string, IrqlRule>;

export type NdisApi = keyof typeof NDIS_IRQL_RULES;

/** IRQL at which NDIS calls each miniport handler (the "IRQL" row of the handler's page). */
export const MINIPORT_HANDLER_IRQL = {
  MiniportInitializeEx: 'PASSIVE_LEVEL',
  MiniportHaltEx: 'PASSIVE_LEVEL',
  MiniportPause: 'PASSIVE_LEVEL',
  MiniportDevicePnPEventNotify: 'PASSIVE_LEVEL',
  MiniportPnPEventNotify: 'PASSIVE_LEVEL',
  MiniportRestart: 'PASSIVE_LEVEL',
  MiniportShutdownEx: 'PASSIVE_LEVEL (power off)',
  MiniportOidRequest: 'PASSIVE_LEVEL (documented <= DISPATCH_LEVEL)',
  MiniportSendNetBufferLists: 'DISPATCH_LEVEL (documented <= DISPATCH_LEVEL)',
  MiniportReturnNetBufferLists: '<= DISPATCH_LEVEL (the caller of NdisReturnNetBufferLists)',
  MiniportInterrupt: 'DIRQL',
  MiniportInterruptDPC: 'DISPATCH_LEVEL',
  MiniportSynchronizeInterrupt: 'DIRQL',
  MiniportDisableInterruptEx: 'DIRQL',
  MiniportEnableInterruptEx: 'DIRQL',
  MiniportInitialize: 'PASSIVE_LEVEL',
  MiniportHalt: 'PASSIVE_LEVEL',
  MiniportISR: 'DIRQL',
  MiniportHandleInterrupt: 'DISPATCH_LEVEL',
  MiniportDisableInterrupt: 'DIRQL',
  MiniportEnableInterrupt: 'DIRQL (NDIS synchronizes it with the ISR; documented <= DISPATCH_LEVEL)',
  MiniportSynchronizeISR: 'DIRQL',
  MiniportSendPackets: 'DISPATCH_LEVEL',
  MiniportReturnPacket: 'DISPATCH_LEVEL',
  MiniportQueryInformation: 'DISPATCH_LEVEL',
  NDIS_TIMER_FUNCTION: 'DISPATCH_LEVEL',
  MiniportSetInformation: 'DISPATCH_LEVEL',
} as const;

/**
 * Check the caller's IRQL against the API's documented range (bug check outside it). `dirql` is the
 * interrupt's synchronize IRQL for rules bounded by DIRQL.
 */
export function requireNdisIrql(kernel: Kernel, api: NdisApi, dirql?: number): void {
  const rule: IrqlRule = NDIS_IRQL_RULES[api];
  const max = rule.max === DIRQL ? (dirql ?? Irql.DEVICE_LEVEL_MAX) : rule.max;
  kernel.requireIrql(api, rule.min, max);
}

/**
 * For calls host code may make too (the protocol side allocating its own NBL pool): checked when
 * made from a routine the kernel runs, unchecked from host code.
 */
export function requireNdisIrqlIfInRoutine(kernel: Kernel, api: NdisApi): void {
  const act = kernel.current();
  if (act === undefined || act.ended) return;
  if (kernel.stopped) throw kernel.stopped;
  const rule: IrqlRule = NDIS_IRQL_RULES[api];
  kernel.requireIrqlOf(act, api, rule.min, rule.max === DIRQL ? Irql.DEVICE_LEVEL_MAX : rule.max);
}

/** Whether the caller runs inside a kernel routine (driver code) rather than host code. */
export function inRoutine(kernel: Kernel): boolean {
  const act = kernel.current();
  return act !== undefined && !act.ended;
}
