/**
 * Sees every frame crossing the upper edge, for a capture (src/host/upper-edge-capture.ts): those
 * the driver indicated up, those the stack handed the driver to send, and those lost on the way —
 * never silently. Called synchronously from the edge (a DPC's indication, the send pump); the views
 * are valid only during the call.
 */
export interface UpperEdgeTap {
  /** The driver indicated this frame and it reached the RX ring. */
  indicated(data: Uint8Array, offset: number, length: number): void;
  /** The driver indicated this frame and the host dropped it: 'ring full' (nobody drained the RX ring) or 'oversize' (longer than a slot). */
  indicationDropped(reason: 'ring full' | 'oversize', data: Uint8Array, offset: number, length: number): void;
  /** The stack handed the driver this frame to send. */
  sent(data: Uint8Array, offset: number, length: number): void;
  /** The driver completed a send with a failure status (the frame was seen by sent() before). */
  sendFailed(): void;
}
