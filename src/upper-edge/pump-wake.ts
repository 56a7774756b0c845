import type { TransmitPath } from './transmit-path.ts';

/** Longest a pump sleeps on its ring (the ring's own Atomics wait) before it looks again. */
export const WAKE_TIMEOUT_MS = 50;

/**
 * Where an upper-edge pump sleeps when it cannot go on: until the next wake() — a completion, a kick
 * from a producer on this thread, or stop(). No timer: each of these is certain to come while there
 * is work, and a timer armed and cleared per wait slowed send streams measurably.
 *
 * One pump waits on one PumpWake. A wake() while nobody waits is not kept: the pump looks at its
 * state before each wait, on this same thread, so nothing can slip in between.
 */
export class PumpWake {
  private resolveWait: (() => void) | null = null;
  private pendingFrameWait: Promise<unknown> | null = null;

  /** Resolves at the next wake(). */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.resolveWait = resolve;
    });
  }

  /** End the current wait, if any. */
  wake(): void {
    const resolve = this.resolveWait;
    if (resolve === null) return;
    this.resolveWait = null;
    resolve();
  }

  /**
   * A send pump that found nothing to send (`room`: how many more it may hand out). With sends in
   * flight, or no room, a completion comes and wakes it; with none, only new frames can: a kick from
   * a producer on this thread, or the TX ring's wake-up for one on another. `tx` is the pump's own
   * TransmitPath, the same on every call.
   */
  idle(tx: TransmitPath, room: number): Promise<unknown> {
    if (room <= 0 || tx.inFlight > 0) return this.next();
    return Promise.race([this.frameWait(tx), this.next()]);
  }

  /** One outstanding wait on the TX ring at a time (a producer in another thread notifies it). */
  private frameWait(tx: TransmitPath): Promise<unknown> {
    this.pendingFrameWait ??= tx.waitForFrames(WAKE_TIMEOUT_MS).finally(() => {
      this.pendingFrameWait = null;
    });
    return this.pendingFrameWait;
  }
}
