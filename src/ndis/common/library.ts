import type { NdisFramework } from './framework.ts';

/**
 * The members of the NDIS library every miniport may use, whichever NDIS version: spin locks,
 * events, NdisMSleep and NdisStallExecution, NdisGetCurrentSystemTime, and `kernel`, the ntoskrnl the miniport also links
 * against (KeGetCurrentIrql, KeGetCurrentProcessorNumberEx, KeQueryActiveProcessorCountEx).
 */
export type NdisLibraryMember =
  | 'kernel'
  | 'allocateSpinLock'
  | 'freeSpinLock'
  | 'acquireSpinLock'
  | 'releaseSpinLock'
  | 'dprAcquireSpinLock'
  | 'dprReleaseSpinLock'
  | 'initializeEvent'
  | 'setEvent'
  | 'resetEvent'
  | 'waitEvent'
  | 'sleep'
  | 'stallExecution'
  | 'getCurrentSystemTime';

/**
 * The NDIS calls both versions share, as a miniport sees them. The host side of NDIS (the part that
 * calls the miniport) is not in it: driver code that makes a host-only call does not compile.
 */
export type NdisLibrary = Pick<NdisFramework, NdisLibraryMember>;
