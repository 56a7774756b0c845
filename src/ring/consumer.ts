import { load64 } from './counters.ts';
import { WORD_COPY_MAX, copyPrefix, copyWords } from './copy.ts';
import { CONSUMER_SIDE, RingEndpoint } from './endpoint.ts';
import { RingUsageError } from './errors.ts';
import { W } from './layout.ts';
import type { RingMemory } from './memory.ts';
import type { RingClaim } from './producer.ts';

/**
 * Receives one frame in place: `view` is the whole slot (slotSize bytes), the frame is
 * view[0, length). The slot is reused as soon as the batch call returns: copy what you keep.
 */
export type FrameHandler = (view: Uint8Array, length: number, slot: number) => void;

/**
 * The consuming side of a PacketRing (one per ring at a time, on any thread). Each call releases
 * with one Atomics.store of the head and wakes the producer only if it said it is asleep.
 */
export class RingConsumer extends RingEndpoint {
  private readonly data: Uint8Array;
  private readonly data32: Int32Array;
  private readonly peeked: RingClaim = { first: 0, count: 0 };
  /** Peeked slots not yet released (the returned RingClaim is left untouched). */
  private peekRemaining = 0;
  private head: number;
  /** Last tail seen; refreshed only when it promises fewer frames than wanted. */
  private cachedTail: number;
  private emptyPolls: number;
  /** Word view of the copy target used twice in a row (see copyOut); never allocated per frame. */
  private wordTarget: Uint8Array | undefined;
  private wordTarget32: Int32Array | undefined;
  private lastTarget: Uint8Array | undefined;

  constructor(memory: RingMemory, onClose: () => void) {
    super(memory, CONSUMER_SIDE, onClose);
    this.data = memory.data;
    this.data32 = memory.data32;
    this.head = Atomics.load(memory.header, W.HEAD);
    this.cachedTail = Atomics.load(memory.header, W.TAIL);
    this.emptyPolls = load64(memory.header, W.EMPTY_POLLS_LO);
  }

  /** Frames ready now (refreshes the producer's tail). */
  available(): number {
    this.cachedTail = Atomics.load(this.header, W.TAIL);
    return (this.cachedTail - this.head) | 0;
  }

  /**
   * Copy the oldest frame to target[targetOffset ..] and release its slot. Returns its length, or
   * -1 when the ring is empty (counted in `emptyPolls`). A target too small throws and leaves the
   * frame in the ring.
   */
  tryDequeue(target: Uint8Array, targetOffset = 0): number {
    this.checkOpen();
    this.peekRemaining = 0;
    if (this.readyFor(1) === 0) {
      this.countEmpty();
      return -1;
    }
    const slot = this.head & this.mask;
    const length = this.lengths[slot]!;
    if (!(targetOffset >= 0) || targetOffset + length > target.length) {
      throw new RingUsageError('copy target too small for the frame', {
        length,
        targetOffset,
        targetLength: target.length,
      });
    }
    this.copyOut(slot, length, target, targetOffset);
    this.head = this.advance(this.head, 1, this.cachedTail);
    return length;
  }

  /**
   * Zero-copy batch: hand up to `max` frames, oldest first, to `onFrame`, then release them all
   * with one store. Returns the number handed over (0 when empty, counted in `emptyPolls`).
   * If `onFrame` throws, the frames it was given (the throwing one included) are released and
   * the error propagates.
   */
  dequeueBatch(onFrame: FrameHandler, max: number = this.slotCount): number {
    this.checkOpen();
    this.peekRemaining = 0;
    const ready = Math.min(max, this.readyFor(max));
    if (!(ready > 0)) {
      this.countEmpty();
      return 0;
    }
    const { views, mask } = this;
    const lengths = this.lengths;
    let position = this.head;
    let handed = 0;
    try {
      while (handed < ready) {
        const slot = position & mask;
        position = (position + 1) | 0;
        handed++;
        onFrame(views[slot]!, lengths[slot]!, slot);
      }
    } finally {
      this.head = this.advance(this.head, handed, this.cachedTail);
    }
    return ready;
  }

  /**
   * Copy up to `max` frames into one flat target, frame i at i * stride, its length in
   * lengthsOut[i]; release them with one store. Returns the number copied. A frame longer than
   * `stride` stops the batch with RingUsageError, after releasing the frames before it.
   */
  dequeueBatchInto(target: Uint8Array, stride: number, lengthsOut: Uint32Array | number[], max: number = this.slotCount): number {
    this.checkOpen();
    this.peekRemaining = 0;
    if (!Number.isInteger(stride) || stride <= 0) throw new RingUsageError('stride must be a positive integer', { stride });
    const room = Math.min(max, Math.floor(target.length / stride), lengthsOut.length);
    const ready = Math.min(room, this.readyFor(room));
    if (!(ready > 0)) {
      this.countEmpty();
      return 0;
    }
    const { mask } = this;
    const lengths = this.lengths;
    let position = this.head;
    let done = 0;
    try {
      for (; done < ready; done++) {
        const slot = position & mask;
        const length = lengths[slot]!;
        if (length > stride) {
          throw new RingUsageError('frame longer than the target stride', { length, stride, index: done });
        }
        this.copyOut(slot, length, target, done * stride);
        lengthsOut[done] = length;
        position = (position + 1) | 0;
      }
    } finally {
      this.head = this.advance(this.head, done, this.cachedTail);
    }
    return done;
  }

  /**
   * Zero-copy reading: up to `max` ready frames contiguous in the slot array, oldest first (read
   * them through `ring.slotView(slot)` / `ring.slotLength(slot)`), then `release()`. Returns a
   * reused object; count 0 when empty (counted in `emptyPolls`). A run stops at the end of the
   * slot array: peek again after releasing for the wrapped part. Any other dequeue call cancels
   * what is left unreleased of a peek.
   */
  peek(max: number = this.slotCount): RingClaim {
    this.checkOpen();
    const ready = Math.min(max, this.readyFor(max));
    const first = this.head & this.mask;
    this.peeked.first = first;
    this.peeked.count = ready > 0 ? Math.min(ready, this.slotCount - first) : 0;
    this.peekRemaining = this.peeked.count;
    if (this.peeked.count === 0) this.countEmpty();
    return this.peeked;
  }

  /** Give the next `count` peeked slots back to the producer (a peek may be released in parts). */
  release(count: number): void {
    this.checkOpen();
    if (!Number.isInteger(count) || count < 0 || count > this.peekRemaining) {
      throw new RingUsageError('release count exceeds the peeked slots', { count, peeked: this.peekRemaining });
    }
    this.peekRemaining -= count;
    if (count > 0) this.head = this.advance(this.head, count, this.cachedTail);
  }

  /** Resolve true once at least `min` frames are ready, or false after timeoutMs. For the main thread. */
  waitForData(timeoutMs = Infinity, min = 1): Promise<boolean> {
    return this.sleepUntil(min, timeoutMs);
  }

  /** Blocking waitForData for worker threads (Atomics.wait). */
  waitForDataSync(timeoutMs = Infinity, min = 1): boolean {
    return this.sleepUntilSync(min, timeoutMs);
  }

  protected amountNow(): number {
    return this.available();
  }

  protected amountAt(tail: number): number {
    return (tail - this.head) | 0;
  }

  private readyFor(wanted: number): number {
    let ready = (this.cachedTail - this.head) | 0;
    if (ready < wanted) {
      this.cachedTail = Atomics.load(this.header, W.TAIL);
      ready = (this.cachedTail - this.head) | 0;
    }
    return ready;
  }

  /**
   * Small frames go word by word when the target is word-aligned and has been used twice in a
   * row (then its Int32 view is made once and kept); everything else through copyPrefix. Callers
   * rotating through many targets thus never allocate a view per frame.
   */
  private copyOut(slot: number, length: number, target: Uint8Array, targetOffset: number): void {
    if (length <= WORD_COPY_MAX && (targetOffset & 3) === 0) {
      let target32 = target === this.wordTarget ? this.wordTarget32 : undefined;
      if (target32 === undefined && target === this.lastTarget && (target.byteOffset & 3) === 0) {
        target32 = new Int32Array(target.buffer, target.byteOffset, target.byteLength >>> 2);
        this.wordTarget = target;
        this.wordTarget32 = target32;
      }
      this.lastTarget = target;
      if (target32 !== undefined) {
        copyWords(target32, target, targetOffset >>> 2, this.data32, this.data, (slot * this.slotSize) >>> 2, length);
        return;
      }
    }
    copyPrefix(target, targetOffset, this.views[slot]!, length);
  }

  private countEmpty(): void {
    this.emptyPolls += 1;
    this.counters.begin();
    this.counters.store64(W.EMPTY_POLLS_LO, this.emptyPolls);
    this.counters.end();
  }
}
