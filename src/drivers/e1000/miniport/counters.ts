/** The core's own counters: what the driver did, next to what the NIC counted. */
export interface AdapterCounters {
  /** ISR calls, and those where ICR was non-zero. */
  isrCalls: number;
  isrRecognized: number;
  /** DPC calls, and how often a DPC queued itself again because frames were still waiting. */
  dpcCalls: number;
  dpcRequeued: number;
  /**
   * DPCs the driver queued itself rather than from its ISR: MiniportRestart's catch-up DPC (so an
   * idle NDIS 6 host shows one DPC and no ISR), the receive path's and a DPC's requeue while frames remain.
   */
  dpcQueuedWithoutIsr: number;
  /** Frames accepted by send(). */
  txQueued: number;
  /** Frames the NIC finished and that were completed upward. */
  txCompleted: number;
  /** Frames completed upward as aborted (halted before the NIC took them). */
  txAborted: number;
  /** Frames queued because the TX ring was full when they arrived. */
  txDeferred: number;
  /** Largest number of frames waiting for ring space. */
  txQueuePeak: number;
  /** Frames indicated upward, their bytes, and the indications. */
  rxIndicated: number;
  rxBytes: number;
  rxIndications: number;
  /** Indicated frames whose descriptor had error bits. */
  rxErrors: number;
  /** RXO causes seen: the NIC found no free descriptor for a frame. */
  rxOverruns: number;
  /**
   * Frames longer than MAX_RECEIVE_FRAME_LENGTH (OID_GEN_MAXIMUM_TOTAL_SIZE, 1514) that the NIC
   * put in the ring: QEMU takes up to 1522 bytes without LPE. Dropped, never indicated.
   */
  rxOversizeDropped: number;
  /** Link state changes indicated. */
  linkChanges: number;
}

export function zeroCounters(): AdapterCounters {
  return {
    isrCalls: 0,
    isrRecognized: 0,
    dpcCalls: 0,
    dpcRequeued: 0,
    dpcQueuedWithoutIsr: 0,
    txQueued: 0,
    txCompleted: 0,
    txAborted: 0,
    txDeferred: 0,
    txQueuePeak: 0,
    rxIndicated: 0,
    rxBytes: 0,
    rxIndications: 0,
    rxErrors: 0,
    rxOverruns: 0,
    rxOversizeDropped: 0,
    linkChanges: 0,
  };
}
