import * as fs from 'node:fs';
import { DirqlError } from '../util/errors.ts';

/** A capture file that cannot be created or written, or one read back that is not what it says. */
export class CaptureFileError extends DirqlError {}

const HRTIME_ORIGIN = process.hrtime.bigint();
const WALL_ORIGIN_NS = BigInt(Date.now()) * 1_000_000n;

/** Wall-clock time in nanoseconds with hrtime resolution (Date.now() alone has only ms). */
export function captureClockNs(): bigint {
  return WALL_ORIGIN_NS + (process.hrtime.bigint() - HRTIME_ORIGIN);
}

export interface CaptureFileOptions {
  /** Records are buffered and written in chunks of about this size. Default 64 KiB. */
  chunkBytes?: number;
  /** Buffered records are also written at this interval, so a live file can be tailed. Default 200. */
  flushIntervalMs?: number;
  /** The largest record reserve() is asked for (the chunk is made at least this big). */
  largestRecord?: number;
  /** How messages name the file ('pcap file'); default 'capture file'. */
  kind?: string;
  /** Makes the error thrown when the file cannot be created or written (default CaptureFileError). */
  error?: (message: string, context: Record<string, unknown>, options: { cause: unknown }) => Error;
}

/**
 * What the pcap and pcapng writers share: a file written with buffered synchronous writes (a
 * capture taken from a DPC must not wait on I/O), flushed when a chunk fills, on a timer and at close.
 * A writer reserves room for a record, fills `chunk` from the offset it gets, then commits.
 */
export class CaptureFile {
  readonly path: string;
  readonly chunk: Buffer;
  private fd: number | undefined;
  private used = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly kind: string;
  private readonly error: NonNullable<CaptureFileOptions['error']>;

  constructor(path: string, options: CaptureFileOptions = {}) {
    this.path = path;
    this.kind = options.kind ?? 'capture file';
    this.error = options.error ?? ((m, c, o) => new CaptureFileError(m, c, o));
    this.chunk = Buffer.allocUnsafe(Math.max(options.chunkBytes ?? 64 * 1024, options.largestRecord ?? 0));
    try {
      this.fd = fs.openSync(path, 'w', 0o644);
    } catch (cause) {
      throw this.error(`cannot create ${this.kind} ${path}`, { path }, { cause });
    }
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 200);
    this.timer.unref();
  }

  get closed(): boolean {
    return this.fd === undefined;
  }

  /** Room for `length` bytes in the chunk (flushing first if needed); returns the offset to fill from. */
  reserve(length: number): number {
    if (this.fd === undefined) throw this.error(`${this.kind} writer is closed`, { path: this.path }, { cause: undefined });
    if (this.used + length > this.chunk.length) this.flush();
    return this.used;
  }

  /** The `length` bytes reserved were filled. */
  commit(length: number): void {
    this.used += length;
  }

  /** Write `data` straight through (after what is buffered): for records larger than the chunk. */
  writeThrough(data: Uint8Array): void {
    this.flush();
    this.writeOut(data);
  }

  /** Write buffered records to the file. */
  flush(): void {
    if (this.fd === undefined || this.used === 0) return;
    this.writeOut(this.chunk.subarray(0, this.used));
    this.used = 0;
  }

  /** Flush and close; idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    clearInterval(this.timer);
    this.flush();
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }

  private writeOut(data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.length) done += fs.writeSync(this.fd!, data, done, data.length - done);
    } catch (cause) {
      throw this.error(`cannot write ${this.kind} ${this.path}`, { path: this.path }, { cause });
    }
  }
}
