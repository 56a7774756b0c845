/**
 * One frame's worth of data as one memory descriptor: a view, an offset and a length. The NDIS 6
 * NET_BUFFER (its MDL) and the NDIS 5 NDIS_PACKET (its single NDIS_BUFFER) are both this.
 */
export class FrameBuffer {
  /** The memory the data lives in (NET_BUFFER_FIRST_MDL, NdisChainBufferAtFront). */
  data: Uint8Array;
  /** Where the frame starts in `data` (NET_BUFFER_DATA_OFFSET). */
  dataOffset = 0;
  /** The frame's length (NET_BUFFER_DATA_LENGTH, NdisQueryPacket's TotalPacketLength). */
  dataLength = 0;

  constructor(data: Uint8Array) {
    this.data = data;
  }

  /** Copy the frame into `target` at `targetOffset` without allocating; returns the bytes copied. */
  copyTo(target: Uint8Array, targetOffset = 0): number {
    const n = Math.min(this.dataLength, target.length - targetOffset);
    if (n <= 0) return 0;
    target.set(this.data.subarray(this.dataOffset, this.dataOffset + n), targetOffset);
    return n;
  }

  /** A view of the frame's bytes (allocates the view object, not the bytes). */
  bytes(): Uint8Array {
    return this.data.subarray(this.dataOffset, this.dataOffset + this.dataLength);
  }
}
