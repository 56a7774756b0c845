import { WireClosedError, WireTimeoutError } from './errors.ts';

interface Waiter {
  want: number;
  frames: Buffer[];
  resolve: (frames: Buffer[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A wire peer's received frames, in arrival order: handed to the oldest collect() waiting, else
 * queued (up to `limit`; 0 queues nothing) for the next one. The queue is an array with a moving
 * head, compacted now and then, so a long capture costs no shift() per frame.
 */
export class ReceivedFrames {
  private queue: Buffer[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];

  /** `port`: the peer's, for error context. `dropped`: called for a frame the full queue refused. */
  constructor(
    private readonly port: number,
    private readonly limit: number,
    private readonly dropped: () => void,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** A frame arrived. */
  push(frame: Buffer): void {
    const waiter = this.waiters[0];
    if (waiter) {
      waiter.frames.push(frame);
      if (waiter.frames.length >= waiter.want) {
        this.waiters.shift();
        clearTimeout(waiter.timer);
        waiter.resolve(waiter.frames);
      }
      return;
    }
    if (this.limit === 0) return;
    if (this.queued >= this.limit) {
      this.dropped();
      return;
    }
    this.queue.push(frame);
  }

  /**
   * The next `count` frames. On timeout rejects with WireTimeoutError whose `frames` holds those
   * that did arrive (they are not returned to the queue).
   */
  collect(count: number, timeoutMs: number): Promise<Buffer[]> {
    const frames: Buffer[] = [];
    while (frames.length < count && this.queued > 0) frames.push(this.dequeue());
    if (frames.length >= count) return Promise.resolve(frames);
    return new Promise<Buffer[]>((resolve, reject) => {
      const waiter: Waiter = {
        want: count,
        frames,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(
            new WireTimeoutError(
              `received ${waiter.frames.length} of ${count} frames within ${timeoutMs} ms`,
              { port: this.port, wanted: count, got: waiter.frames.length, timeoutMs },
              { frames: waiter.frames },
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(waiter);
    });
  }

  /** Forget queued frames; returns how many. */
  clear(): number {
    const n = this.queued;
    this.queue = [];
    this.head = 0;
    return n;
  }

  /** The peer closed: every waiting collect() rejects with WireClosedError. */
  close(): void {
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new WireClosedError('wire peer closed while waiting for frames', { port: this.port, got: w.frames.length }));
    }
  }

  private dequeue(): Buffer {
    const frame = this.queue[this.head++]!;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return frame;
  }
}
