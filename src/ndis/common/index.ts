/** What the NDIS 6 and NDIS 5 facades share: status codes, OIDs, spin locks, IRQL rules, bug checks, the adapter handle's identity. */
export { NdisStatus, ndisStatusName, ndisStatusSucceeded, type NDIS_STATUS } from './status.ts';
export * from './oids.ts';
export { NdisSpinLock, NdisSpinLocks } from './spin-lock.ts';
export { NDIS_IRQL_RULES, MINIPORT_HANDLER_IRQL, DIRQL, requireNdisIrql, type NdisApi, type IrqlRule } from './irql-rules.ts';
export { BUGCODE_NDIS_DRIVER, NdisViolation, StateTransition, ndisBugCheck } from './bugcheck.ts';
export { NdisError, NdisCharacteristicsError, NdisOperationError } from './errors.ts';
export { NdisDevicePnPEvent, type NdisDevicePnPEventValue, type NetDevicePnPEvent } from './pnp.ts';
export { NdisTimer, type NdisTimerFunction } from './timer.ts';
export { named } from './named.ts';
export { NdisAdapterHandle } from './adapter-handle.ts';
export type { PnpCall } from './framework.ts';
export type { NdisLibrary, NdisLibraryMember } from './library.ts';
