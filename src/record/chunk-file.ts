import fs from 'node:fs';

/**
 * Bytes written between two fdatasync() calls. Dirty pages are what made a recording expensive:
 * on this machine, once the page cache of the (memory-limited) cgroup was full of dirty pages,
 * each new page of a write cost a synchronous reclaim, and appending went from ~0.1 to ~1.6 ms of
 * system CPU per MiB (a 64 B RX frame records ~2 KiB of DMA buffers: ~3 µs a frame). Syncing as it
 * goes keeps the recording's pages clean, so reclaiming them is cheap; a crash also leaves at most
 * this much unwritten (the file then reads as truncated).
 */
export const SYNC_EVERY = 8 * 1024 * 1024;

/**
 * The recording's file: each chunk is written at its own offset as it comes (several may be in
 * flight in libuv's thread pool, so the session never waits on the disk), with an fdatasync() every
 * SYNC_EVERY bytes, at most one at a time. Errors (opening included) are kept for close(), which
 * rejects with the first; chunks are handed back (`done`) once written or once writing has failed.
 */
export class ChunkFile {
  private fd: number | undefined;
  private failed: Error | undefined;
  private queued: { chunk: Buffer; at: number; done: () => void }[] = [];
  private position = 0;
  private inFlight = 0;
  private unsynced = 0;
  private syncing = false;
  private closing: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private closed: Promise<void> | undefined;

  constructor(readonly file: string) {
    fs.open(file, 'w', (err, fd) => {
      if (err) this.fail(err);
      else this.fd = fd;
      const queued = this.queued;
      this.queued = [];
      for (const q of queued) this.writeAt(q.chunk, q.at, q.done);
      this.settle();
    });
  }

  /** A chunk of whole records, appended after the previous ones; `done` once it may be reused. */
  write(chunk: Buffer, done: () => void): void {
    const at = this.position;
    this.position += chunk.length;
    if (this.fd === undefined && this.failed === undefined) this.queued.push({ chunk, at, done });
    else this.writeAt(chunk, at, done);
  }

  /** Once every chunk is written: closes the file; rejects with the first error. Once. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve, reject) => {
      this.closing = { resolve, reject };
      this.settle();
    });
    return this.closed;
  }

  private writeAt(chunk: Buffer, at: number, done: () => void): void {
    if (this.failed !== undefined || this.fd === undefined) {
      done();
      return;
    }
    this.inFlight++;
    fs.write(this.fd, chunk, 0, chunk.length, at, (err, written) => {
      this.inFlight--;
      if (err) {
        this.fail(err);
        done();
      } else if (written < chunk.length) {
        // A short write (a signal, a full disk about to fail): the rest, at its offset.
        this.writeAt(chunk.subarray(written), at + written, done);
      } else {
        this.unsynced += written;
        done();
        this.sync();
      }
      this.settle();
    });
  }

  private sync(): void {
    if (this.syncing || this.unsynced < SYNC_EVERY || this.fd === undefined || this.failed !== undefined) return;
    this.syncing = true;
    this.unsynced = 0;
    fs.fdatasync(this.fd, (err) => {
      this.syncing = false;
      if (err) this.fail(err);
      this.sync();
      this.settle();
    });
  }

  private fail(err: Error): void {
    this.failed ??= err;
  }

  /** Closes once asked to and nothing is in flight. */
  private settle(): void {
    const closing = this.closing;
    if (!closing || this.inFlight > 0 || this.syncing || this.queued.length > 0) return;
    if (this.fd === undefined && this.failed === undefined) return; // still opening
    this.closing = undefined;
    const finish = (): void => (this.failed ? closing.reject(this.failed) : closing.resolve());
    if (this.fd === undefined) finish();
    else
      fs.close(this.fd, (err) => {
        if (err) this.fail(err);
        finish();
      });
  }
}
