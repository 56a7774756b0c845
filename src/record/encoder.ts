import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { changesSize } from './memory-shadow.ts';

/**
 * The recording's encoder: frames records (`u32le length, u32le crc32, msgpack payload`) straight
 * into a preallocated chunk, which goes to `sink` when the next record does not fit. The hot kinds
 * (qtest lines, IRQ edges, memory reads, the frames of a send) are written by hand as the msgpack
 * bytes msgpackr's `pack()` makes for the same array, so the reader (`parseRecording`, msgpackr
 * `unpack`) sees the same values: what changed in a received batch's DMA read is copied once, into the chunk, with
 * no intermediate array, packed buffer or concatenation (test/unit/record/encoder.test.ts compares
 * the bytes with `pack()` for each kind). Other records go through `pack()`.
 */

/** Options as the reader's (format.ts): plain arrays and maps, no record extension. */
export const packr = new Packr({ useRecords: false, moreTypes: false });

export const RECORD_PREFIX = 8;
/** One write to the file per chunk. 1 MiB holds several received batches' DMA reads (~129 KiB each at 64 B frames). */
export const CHUNK = 1024 * 1024;
/** The most a number takes (float64: marker and 8 bytes). */
const NUMBER_MAX = 9;
/** The most a string or bin header takes (marker and u32 length). */
const HEADER_MAX = 5;

/** Takes a chunk of whole records; calls `done` once its bytes are written and the chunk may be reused. */
export type ChunkSink = (chunk: Buffer, done: () => void) => void;

export class RecordEncoder {
  private chunk: Buffer;
  private view: DataView;
  private pos = 0;
  /** Chunks the sink has finished with. */
  private readonly free: Buffer[] = [];

  constructor(
    private readonly sink: ChunkSink,
    private readonly chunkSize = CHUNK,
  ) {
    this.chunk = Buffer.allocUnsafeSlow(chunkSize);
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
  }

  /** Raw bytes (the file's magic). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength);
    this.chunk.set(bytes, this.pos);
    this.pos += bytes.byteLength;
  }

  /** `[kind, line]` (a qtest command or reply). */
  string(kind: number, line: string): void {
    const start = this.begin(RECORD_PREFIX + 2 + HEADER_MAX + line.length * 3);
    const c = this.chunk;
    c[this.pos++] = 0x92;
    c[this.pos++] = kind;
    this.str(line);
    this.end(start);
  }

  /** `[kind, line, raised]` (an IRQ edge). */
  irq(kind: number, line: number, raised: boolean): void {
    const start = this.begin(RECORD_PREFIX + 3 + NUMBER_MAX);
    const c = this.chunk;
    c[this.pos++] = 0x93;
    c[this.pos++] = kind;
    this.num(line);
    c[this.pos++] = raised ? 0xc3 : 0xc2;
    this.end(start);
  }

  /** `[kind, addr, length, changes]` (a memory read as the runs that changed, memory-shadow.ts): each run's bytes copied here, once. */
  memoryChanges(kind: number, addr: number, data: Uint8Array, runs: readonly number[]): void {
    const size = changesSize(runs);
    const start = this.begin(RECORD_PREFIX + 2 + 2 * NUMBER_MAX + HEADER_MAX + size);
    const c = this.chunk;
    c[this.pos++] = 0x94;
    c[this.pos++] = kind;
    this.num(addr);
    this.num(data.byteLength);
    this.binHeader(size);
    for (let r = 0; r < runs.length; r += 2) {
      const offset = runs[r]!;
      const n = runs[r + 1]!;
      this.view.setUint32(this.pos, offset, true);
      this.view.setUint32(this.pos + 4, n, true);
      c.set(data.subarray(offset, offset + n), this.pos + 8);
      this.pos += 8 + n;
    }
    this.end(start);
  }

  /** `[kind, op, frames]` (the host's send: each frame copied here, once). */
  frames(kind: number, op: string, frames: readonly Uint8Array[]): void {
    let size = 0;
    for (const f of frames) size += HEADER_MAX + f.byteLength;
    const start = this.begin(RECORD_PREFIX + 2 + HEADER_MAX + op.length * 3 + HEADER_MAX + size);
    const c = this.chunk;
    c[this.pos++] = 0x93;
    c[this.pos++] = kind;
    this.str(op);
    this.arrayHeader(frames.length);
    for (const f of frames) this.bin(f);
    this.end(start);
  }

  /** Any other record, through msgpackr's `pack()`. */
  packed(value: unknown): void {
    const body = packr.pack(value);
    const start = this.begin(RECORD_PREFIX + body.length);
    this.chunk.set(body, this.pos);
    this.pos += body.length;
    this.end(start);
  }

  /** Hands the current chunk's records to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const full = this.chunk;
    this.sink(full.subarray(0, this.pos), () => {
      if (full.byteLength === this.chunkSize) this.free.push(full);
    });
    this.use(this.free.pop() ?? Buffer.allocUnsafeSlow(this.chunkSize));
  }

  /** Room for `need` bytes: a fresh chunk when the current one is short, a chunk of its own for a record bigger than a chunk. */
  private reserve(need: number): void {
    if (this.pos + need <= this.chunk.byteLength) return;
    this.flush();
    if (need > this.chunk.byteLength) {
      // A one-off, flushed (and dropped) when the next record comes; the pooled chunk waits.
      this.free.push(this.chunk);
      this.use(Buffer.allocUnsafeSlow(need));
    }
  }

  private use(chunk: Buffer): void {
    this.chunk = chunk;
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pos = 0;
  }

  /** Reserves at most `max` bytes and skips the prefix; returns the record's start. */
  private begin(max: number): number {
    this.reserve(max);
    const start = this.pos;
    this.pos += RECORD_PREFIX;
    return start;
  }

  private end(start: number): void {
    const length = this.pos - start - RECORD_PREFIX;
    this.view.setUint32(start, length, true);
    this.view.setUint32(start + 4, crc32(this.chunk.subarray(start + RECORD_PREFIX, this.pos)), true);
  }

  /** A number as msgpackr writes it with `useRecords: false`: the smallest int, else float64. */
  private num(v: number): void {
    if (v >>> 0 === v) {
      if (v < 0x80) this.chunk[this.pos++] = v;
      else this.marked(v < 0x100 ? 0xcc : v < 0x10000 ? 0xcd : 0xce, v < 0x100 ? 1 : v < 0x10000 ? 2 : 4, v);
    } else if (v >> 0 === v) {
      if (v >= -0x20) this.chunk[this.pos++] = 0x100 + v;
      else this.marked(v >= -0x80 ? 0xd0 : v >= -0x8000 ? 0xd1 : 0xd2, v >= -0x80 ? 1 : v >= -0x8000 ? 2 : 4, v);
    } else {
      this.chunk[this.pos++] = 0xcb;
      this.view.setFloat64(this.pos, v);
      this.pos += 8;
    }
  }

  /** A msgpack marker, then `v` big-endian in `width` bytes (two's complement for a negative). */
  private marked(marker: number, width: 1 | 2 | 4, v: number): void {
    this.chunk[this.pos++] = marker;
    if (width === 1) this.chunk[this.pos] = v & 0xff;
    else if (width === 2) this.view.setUint16(this.pos, v & 0xffff);
    else this.view.setUint32(this.pos, v >>> 0);
    this.pos += width;
  }

  /** UTF-8 with the smallest header, written where an all-ASCII string's header ends and moved if it was not. */
  private str(s: string): void {
    const guess = headerSize(s.length);
    const at = this.pos + guess;
    const n = this.chunk.write(s, at);
    const size = headerSize(n);
    if (size !== guess) this.chunk.copyWithin(this.pos + size, at, at + n);
    const c = this.chunk;
    if (size === 1) c[this.pos] = 0xa0 | n;
    else if (size === 2) {
      c[this.pos] = 0xd9;
      c[this.pos + 1] = n;
    } else if (size === 3) {
      c[this.pos] = 0xda;
      this.view.setUint16(this.pos + 1, n);
    } else {
      c[this.pos] = 0xdb;
      this.view.setUint32(this.pos + 1, n);
    }
    this.pos += size + n;
  }

  private bin(b: Uint8Array): void {
    this.binHeader(b.byteLength);
    this.chunk.set(b, this.pos);
    this.pos += b.byteLength;
  }

  private binHeader(n: number): void {
    this.marked(n < 0x100 ? 0xc4 : n < 0x10000 ? 0xc5 : 0xc6, n < 0x100 ? 1 : n < 0x10000 ? 2 : 4, n);
  }

  private arrayHeader(n: number): void {
    if (n < 0x10) this.chunk[this.pos++] = 0x90 | n;
    else this.marked(n < 0x10000 ? 0xdc : 0xdd, n < 0x10000 ? 2 : 4, n);
  }
}

/** A msgpack string header's size for a UTF-8 length (fixstr, str8, str16, str32). */
function headerSize(n: number): number {
  return n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}
