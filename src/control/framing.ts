import { ControlProtocolError } from './errors.ts';

/**
 * Length-prefixed frames over a byte stream. node-ipc's raw-buffer mode hands over whatever the
 * socket read: several messages may arrive in one chunk and one message may span chunks, so every
 * msgpack payload travels behind a 4-byte big-endian length.
 */
export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;

export function encodeFrame(payload: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

export class FrameDecoder {
  private readonly maxFrameBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the frame at the head of `pending` needs in all (header included); 0 until its header is in. */
  private need = 0;

  constructor(opts: { maxFrameBytes?: number } = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received but not yet part of a complete frame. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /**
   * Feed one chunk; `onFrame` gets every payload it completes, in order. Linear in the bytes
   * received: chunks of an incomplete frame are only held, and joined once, when its last byte
   * arrives. Throws ControlProtocolError on a length above the limit, after delivering the frames
   * before it: the stream cannot be resynchronised after that, close it.
   */
  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < Math.max(this.need, FRAME_HEADER_BYTES)) return;
    const data = this.pending.length === 1 ? chunk : Buffer.concat(this.pending, this.pendingBytes);
    let offset = 0;
    const keep = () => {
      const rest = data.subarray(offset);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
      this.need = 0;
    };
    while (data.length - offset >= FRAME_HEADER_BYTES) {
      const length = data.readUInt32BE(offset);
      if (length > this.maxFrameBytes) {
        this.pending = [];
        this.pendingBytes = 0;
        this.need = 0;
        throw new ControlProtocolError(`control frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`, {
          reason: 'frame too large',
          length,
          maxFrameBytes: this.maxFrameBytes,
        });
      }
      const end = offset + FRAME_HEADER_BYTES + length;
      if (end > data.length) break;
      const payload = data.subarray(offset + FRAME_HEADER_BYTES, end);
      offset = end;
      // State first: onFrame may throw, and the next push must not see this frame again.
      keep();
      onFrame(payload);
    }
    keep();
    if (this.pendingBytes >= FRAME_HEADER_BYTES) this.need = FRAME_HEADER_BYTES + data.readUInt32BE(offset);
  }
}
