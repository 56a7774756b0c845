import { load64 } from './counters.ts';
import { copyPrefix } from './copy.ts';
import { PRODUCER_SIDE, RingEndpoint } from './endpoint.ts';
import { FrameTooLargeError, RingUsageError } from './errors.ts';
import { W } from './layout.ts';
import type { RingMemory } from './memory.ts';

/** A contiguous run of slots handed out by `claim()` / `peek()`; reused, valid until the next call. */
export interface RingClaim {
  /** Slot index of the first slot (0 .. slotCount-1). */
  first: number;
  /** Number of slots; first + count never passes the end of the slot array. */
  count: number;
}

/**
 * The producing side of a PacketRing (one per ring at a time, on any thread).
 *
 * Every call publishes at most once: one Atomics.store of the tail per batch, and a notify only
 * when the consumer has said it is asleep, so a busy ring costs no syscalls.
 */
export class RingProducer extends RingEndpoint {
  private readonly claimed: RingClaim = { first: 0, count: 0 };
  /** Slots of the current claim not yet published (the returned RingClaim is left untouched). */
  private claimFirst = 0;
  private claimRemaining = 0;
  /** Next position to publish; this side is its only writer. */
  private tail: number;
  /** Last head seen; refreshed only when the ring looks full, to keep off the consumer's line. */
  private cachedHead: number;
  private fullRejects: number;
  private dropped: number;

  constructor(memory: RingMemory, onClose: () => void) {
    super(memory, PRODUCER_SIDE, onClose);
    this.tail = Atomics.load(memory.header, W.TAIL);
    this.cachedHead = Atomics.load(memory.header, W.HEAD);
    this.fullRejects = load64(memory.header, W.FULL_REJECTS_LO);
    this.dropped = load64(memory.header, W.DROPPED_LO);
  }

  /** Free slots now (refreshes the consumer's head). */
  free(): number {
    this.cachedHead = Atomics.load(this.header, W.HEAD);
    return this.slotCount - ((this.tail - this.cachedHead) | 0);
  }

  /**
   * Copy one frame into the ring and publish it. `length` defaults to the whole array.
   * Returns false when the ring is full; that refusal is counted in `fullRejects`.
   */
  tryEnqueue(frame: Uint8Array, length: number = frame.length): boolean {
    return this.enqueueFrame(frame, length, 0);
  }

  /** tryEnqueue, and a refused frame is given up on: counted in both `fullRejects` and `dropped`. */
  enqueueOrDrop(frame: Uint8Array, length: number = frame.length): boolean {
    return this.enqueueFrame(frame, length, 1);
  }

  /**
   * Copy frames[0 .. count) in order until the ring is full; publish them with one store.
   * Returns how many were taken; the rest are counted in `fullRejects` (they are not lost unless
   * the caller gives up on them: `drop(n)` or `enqueueBatchOrDrop`). A frame longer than a slot
   * throws FrameTooLargeError and nothing from this call is published.
   */
  enqueueBatch(frames: readonly Uint8Array[], count: number = frames.length, lengths?: ArrayLike<number>): number {
    return this.enqueueFrames(frames, count, lengths, false);
  }

  /** enqueueBatch, and whatever did not fit is dropped and counted in `dropped`. */
  enqueueBatchOrDrop(frames: readonly Uint8Array[], count: number = frames.length, lengths?: ArrayLike<number>): number {
    return this.enqueueFrames(frames, count, lengths, true);
  }

  /** The caller gave up on `n` frames it could not place (after a refusal): counted in `dropped`. */
  drop(n: number): void {
    this.checkOpen();
    if (!Number.isInteger(n) || n < 0) throw new RingUsageError('drop count must be a non-negative integer', { n });
    if (n > 0) this.addRejects(0, n);
  }

  /**
   * Zero-copy producing: reserve up to `wanted` free slots, contiguous in the slot array (so that
   * one pread can fill them). Fill `ring.slotView(first + i)` (or `ring.data` at
   * `ring.slotOffset(first)`), then `publish()`. Returns a reused object. Fewer than wanted means
   * the ring is nearly full (the shortfall below free space is counted in `fullRejects`) or the run
   * reached the end of the array (claim again after publishing for the wrapped part).
   * A new claim, or any copying enqueue, cancels what is left unpublished of the previous claim.
   */
  claim(wanted: number): RingClaim {
    this.checkOpen();
    if (!Number.isInteger(wanted) || wanted < 0) {
      throw new RingUsageError('claim size must be a non-negative integer', { wanted });
    }
    const free = this.freeFor(wanted);
    if (wanted > free) this.addRejects(wanted - free, 0);
    const first = this.tail & this.mask;
    const count = Math.min(wanted, free, this.slotCount - first);
    this.claimed.first = first;
    this.claimed.count = count;
    this.claimFirst = first;
    this.claimRemaining = count;
    return this.claimed;
  }

  /**
   * Publish the next `count` slots of the current claim (a claim may be published in parts).
   * `lengths` gives each frame's length (lengths[i] for the i-th slot published by this call), or
   * one number for all of them.
   */
  publish(count: number, lengths: ArrayLike<number> | number): void {
    this.checkOpen();
    if (!Number.isInteger(count) || count < 0 || count > this.claimRemaining) {
      throw new RingUsageError('publish count exceeds the claimed slots', { count, claimed: this.claimRemaining });
    }
    const first = this.claimFirst;
    const slotLengths = this.lengths;
    for (let i = 0; i < count; i++) {
      const length = typeof lengths === 'number' ? lengths : lengths[i];
      if (length === undefined || !(length >= 0 && length <= this.slotSize) || !Number.isInteger(length)) {
        throw this.badLength(length);
      }
      slotLengths[first + i] = length;
    }
    this.claimFirst += count;
    this.claimRemaining -= count;
    if (count > 0) this.tail = this.advance(this.tail, count, this.cachedHead);
  }

  /** Resolve once at least `min` slots are free, or false after timeoutMs. For the main thread. */
  waitForSpace(timeoutMs = Infinity, min = 1): Promise<boolean> {
    return this.sleepUntil(min, timeoutMs);
  }

  /** Blocking waitForSpace for worker threads (Atomics.wait). */
  waitForSpaceSync(timeoutMs = Infinity, min = 1): boolean {
    return this.sleepUntilSync(min, timeoutMs);
  }

  protected amountNow(): number {
    return this.free();
  }

  protected amountAt(head: number): number {
    return this.slotCount - ((this.tail - head) | 0);
  }

  /** One frame; a refusal counts in `fullRejects`, and in `dropped` when `droppedIfFull` is 1. */
  private enqueueFrame(frame: Uint8Array, length: number, droppedIfFull: 0 | 1): boolean {
    this.checkOpen();
    this.claimRemaining = 0;
    this.checkLength(length, frame.length);
    if (this.freeFor(1) === 0) {
      this.addRejects(1, droppedIfFull);
      return false;
    }
    const slot = this.tail & this.mask;
    copyPrefix(this.views[slot]!, 0, frame, length);
    this.lengths[slot] = length;
    this.tail = this.advance(this.tail, 1, this.cachedHead);
    return true;
  }

  private enqueueFrames(frames: readonly Uint8Array[], count: number, lengths: ArrayLike<number> | undefined, dropRest: boolean): number {
    this.checkOpen();
    this.claimRemaining = 0;
    if (!Number.isInteger(count) || count < 0 || count > frames.length) {
      throw new RingUsageError('batch count outside the frames array', { count, frames: frames.length });
    }
    const taken = Math.min(count, this.freeFor(count));
    const { views, mask, slotSize } = this;
    const slotLengths = this.lengths;
    let position = this.tail;
    for (let i = 0; i < taken; i++) {
      const frame = frames[i]!;
      const length = lengths === undefined ? frame.length : lengths[i]!;
      if (length >>> 0 !== length || length > slotSize || length > frame.length) this.checkLength(length, frame.length);
      const slot = position & mask;
      copyPrefix(views[slot]!, 0, frame, length);
      slotLengths[slot] = length;
      position = (position + 1) | 0;
    }
    if (taken < count) this.addRejects(count - taken, dropRest ? count - taken : 0);
    if (taken > 0) this.tail = this.advance(this.tail, taken, this.cachedHead);
    return taken;
  }

  /** Free slots, re-reading the consumer's head only if the cached value says there are too few. */
  private freeFor(wanted: number): number {
    let free = this.slotCount - ((this.tail - this.cachedHead) | 0);
    if (free < wanted) {
      this.cachedHead = Atomics.load(this.header, W.HEAD);
      free = this.slotCount - ((this.tail - this.cachedHead) | 0);
    }
    return free;
  }

  private addRejects(rejected: number, dropped: number): void {
    this.fullRejects += rejected;
    this.dropped += dropped;
    this.counters.begin();
    if (rejected > 0) this.counters.store64(W.FULL_REJECTS_LO, this.fullRejects);
    if (dropped > 0) this.counters.store64(W.DROPPED_LO, this.dropped);
    this.counters.end();
  }

  private checkLength(length: number, available: number): void {
    if (!Number.isInteger(length) || length < 0) throw this.badLength(length);
    if (length > this.slotSize) throw this.badLength(length);
    if (length > available) {
      throw new RingUsageError('length exceeds the frame array', { length, frameLength: available });
    }
  }

  private badLength(length: number | undefined): Error {
    if (typeof length === 'number' && Number.isInteger(length) && length > this.slotSize) {
      return new FrameTooLargeError(`frame of ${length} bytes does not fit a ${this.slotSize}-byte slot`, {
        length,
        slotSize: this.slotSize,
      });
    }
    return new RingUsageError('frame length must be a non-negative integer', { length, slotSize: this.slotSize });
  }
}
