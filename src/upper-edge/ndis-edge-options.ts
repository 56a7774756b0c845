import type { PacketRing } from '../ring/index.ts';
import type { UpperEdgeTap } from './tap.ts';
import type { HandOutLog } from './transmit-path.ts';

/** What the NDIS 6 and NDIS 5 protocol edges are built with. */
export interface NdisEdgeOptions {
  /** Frames the driver indicates go here (this edge is its producer). */
  rxRing: PacketRing;
  /** Frames to send are taken from here (this edge is its consumer). */
  txRing: PacketRing;
  /** Send NBLs (NDIS 6) or NDIS_PACKETs (NDIS 5) in the pool: the most frames in flight to the driver. Default 512. */
  sendPoolSize?: number;
  /** NBLs per NdisSendNetBufferLists call, or packets per NdisSendPackets call. Default 64. */
  sendBatch?: number;
  /** Processor the protocol sends from. Default 0. */
  processor?: number;
  /**
   * Called (synchronously, from the driver's indication) after received frames are published into
   * `rxRing`. A consumer on this same thread wakes on it at once; the ring's own wake-up
   * (Atomics.waitAsync) reaches the waiting thread only at a later event-loop turn.
   */
  onPublish?: () => void;
  /** Sees every frame indicated, sent or dropped at this edge (a capture). */
  tap?: UpperEdgeTap;
  /** Logs (a recording) or dictates (a replay) how many frames each hand-out to the driver takes. */
  handOuts?: HandOutLog;
}
