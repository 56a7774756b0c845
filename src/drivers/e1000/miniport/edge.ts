import type { LinkState } from '../nic.ts';

/**
 * A lock for state that lower-IRQL paths share among themselves (send against the DPC) but not
 * with the ISR: NdisAllocateSpinLock / NdisAcquireSpinLock in NDIS, WdfSpinLockCreate /
 * WdfSpinLockAcquire in KMDF. acquire() raises to DISPATCH_LEVEL; release() restores the IRQL and,
 * when that lowers it, is a preemption point (the ISR and DPCs that became deliverable run before
 * it returns): await it. Each is undefined when it had nothing to wait for (acquire: the lock was
 * free; release: nothing ran), so the send path makes no promise on its usual path.
 */
export interface AdapterLock {
  acquire(): Promise<void> | undefined;
  release(): Promise<void> | undefined;
}

/**
 * Received frames handed up in one indication. `views[i]` is a whole 2048-byte receive slot, the
 * frame is its first `lengths[i]` bytes (CRC stripped, short frames padded to 60). The object is
 * reused for the next indication: the framework variant must have taken what it needs (built its
 * NBLs, WDF requests, ...) by the time indicateReceive returns.
 */
export interface ReceiveBatch {
  readonly count: number;
  readonly views: readonly Buffer[];
  readonly lengths: Uint16Array;
  /** RX descriptor error bits per frame (0 = good). */
  readonly errors: Uint8Array;
}

/** What becomes of the frames a completeSends call reports. */
export type SendOutcome = 'sent' | 'aborted';

/**
 * How the framework-neutral e1000 core reaches its framework. Each variant (NDIS 6, NDIS 5, KMDF)
 * implements it with its facade's calls; the core never names a framework API itself.
 */
export interface MiniportEdge {
  /**
   * Run `fn` at the interrupt's synchronize IRQL holding its spin lock and return its result:
   * NdisMSynchronizeWithInterruptEx (NDIS 6), NdisMSynchronizeWithInterrupt (NDIS 5),
   * WdfInterruptSynchronize (KMDF). Only valid while the interrupt is registered.
   */
  synchronize(fn: () => boolean | Promise<boolean>): Promise<boolean>;
  /**
   * Queue the interrupt DPC again (NdisMQueueDpcEx, WdfInterruptQueueDpcForIsr): the core does it
   * when one DPC used its receive budget and frames are still waiting, interrupts left masked.
   * Returns false when it is already queued. Called below DISPATCH_LEVEL the DPC has run when the
   * awaited call returns (a plain boolean when nothing ran).
   */
  queueDpc(): boolean | Promise<boolean>;
  /** Create a lock for state shared by the send path and the DPC. */
  createLock(name: string): AdapterLock;
  /** Give up the processor for a while (PASSIVE_LEVEL): NdisMSleep, KeDelayExecutionThread. Used while pausing. */
  delay(microseconds: number): Promise<void>;
  /**
   * Milliseconds since boot, as of the last clock tick (any IRQL): NdisGetSystemUpTimeEx,
   * NdisGetSystemUpTime, KeQueryInterruptTime. The core's deadlines read the time here, not the
   * host's clock, so a recording holds the readings and a replay ends each wait where it ended.
   */
  upTimeMs(): number;
  /**
   * Indicate received frames upward (NdisMIndicateReceiveNetBufferLists, ...). Frames the upper
   * layer keeps after this returns must be given back with E1000Adapter.returnReceives(): until
   * then the core does not give their descriptors back to the NIC (the views stay valid).
   */
  indicateReceive(batch: ReceiveBatch): void | Promise<void>;
  /**
   * The next `count` frames, in the order they were handed to E1000Adapter.send(), are finished
   * (NdisMSendNetBufferListsComplete, ...). Counts arrive in order; two calls from different
   * processors may overlap, but at every call at least that many further frames are finished.
   */
  completeSends(count: number, outcome: SendOutcome): void | Promise<void>;
  /** The link changed (NdisMIndicateStatusEx with NDIS_STATUS_LINK_STATE, ...). */
  indicateLink(state: LinkState): void | Promise<void>;
}

/**
 * What the ISR body found: recognised (ICR was non-zero) and whether the DPC should run.
 * The two instances are constants, so the ISR allocates nothing.
 */
export interface IsrResult {
  readonly recognized: boolean;
  readonly queueDpc: boolean;
}

export const ISR_NOT_OURS: IsrResult = Object.freeze({ recognized: false, queueDpc: false });
export const ISR_RECOGNIZED: IsrResult = Object.freeze({ recognized: true, queueDpc: true });

/**
 * Adds one frame to a send: `length` bytes of `view` from `offset`. The bytes are copied into the
 * TX ring before the frame is handed to the NIC, but may be read until completeSends covers it
 * (a frame that did not fit the ring waits in the core's queue), so keep them unchanged until then.
 */
export type FrameSink = (view: Uint8Array, offset: number, length: number) => void;
