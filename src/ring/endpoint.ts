import { SequencedWriter } from './counters.ts';
import { RingUsageError } from './errors.ts';
import { W } from './layout.ts';
import type { RingMemory } from './memory.ts';
import { waitForAmount, waitForAmountSync, type WatchedPosition } from './wait.ts';

/** The header words and names that make one side of the ring: the producer's mirror is the consumer's. */
export interface RingSide {
  readonly role: 'producer' | 'consumer';
  /** This side's position word (TAIL / HEAD): only this side stores it. */
  readonly position: number;
  /** Bumped with the position when it crosses 2^32 (TAIL_EPOCH / HEAD_EPOCH). */
  readonly epoch: number;
  /** Sequence word over this side's counters and epoch (P_SEQ / C_SEQ). */
  readonly seq: number;
  /** Where this side says how many it sleeps for (PRODUCER_WAITING / CONSUMER_WAITING). */
  readonly waiting: number;
  /** The other side's position word and sleep word. */
  readonly otherPosition: number;
  readonly otherWaiting: number;
  /** What the other side sleeps for: ready frames (the consumer) or free slots (the producer). */
  readonly otherWaitsFor: 'frames' | 'space';
  /** Names of the public wait calls, for errors. */
  readonly waitName: string;
  readonly waitSyncName: string;
}

export const PRODUCER_SIDE: RingSide = {
  role: 'producer',
  position: W.TAIL,
  epoch: W.TAIL_EPOCH,
  seq: W.P_SEQ,
  waiting: W.PRODUCER_WAITING,
  otherPosition: W.HEAD,
  otherWaiting: W.CONSUMER_WAITING,
  otherWaitsFor: 'frames',
  waitName: 'waitForSpace',
  waitSyncName: 'waitForSpaceSync',
};

export const CONSUMER_SIDE: RingSide = {
  role: 'consumer',
  position: W.HEAD,
  epoch: W.HEAD_EPOCH,
  seq: W.C_SEQ,
  waiting: W.CONSUMER_WAITING,
  otherPosition: W.TAIL,
  otherWaiting: W.PRODUCER_WAITING,
  otherWaitsFor: 'space',
  waitName: 'waitForData',
  waitSyncName: 'waitForDataSync',
};

/**
 * What the producer and the consumer do alike: publish their own position (one store per batch, the
 * epoch moved with it across the 2^32 wrap), wake the other side only when it sleeps and its
 * threshold is met, sleep on the other side's position, and give their role back.
 */
export abstract class RingEndpoint {
  protected readonly header: Int32Array;
  protected readonly lengths: Uint32Array;
  protected readonly views: readonly Uint8Array[];
  protected readonly mask: number;
  protected readonly slotCount: number;
  protected readonly slotSize: number;
  protected readonly counters: SequencedWriter;
  private readonly side: RingSide;
  private readonly positionWord: number;
  private readonly otherWaitingWord: number;
  /** What the other side has is otherBase + (this position − the cached other position). */
  private readonly otherBase: number;
  /** What the wait calls sleep on: the other side's position word. */
  private readonly watched: WatchedPosition;
  private readonly onClose: () => void;
  private epoch: number;
  private closed = false;
  private notifies = 0;

  constructor(memory: RingMemory, side: RingSide, onClose: () => void) {
    this.header = memory.header;
    this.lengths = memory.lengths;
    this.views = memory.views;
    this.mask = memory.mask;
    this.slotCount = memory.geometry.slotCount;
    this.slotSize = memory.geometry.slotSize;
    this.counters = new SequencedWriter(memory.header, side.seq);
    this.side = side;
    this.positionWord = side.position;
    this.otherWaitingWord = side.otherWaiting;
    // Frames ready: tail − head. Free slots: slotCount − (tail − head) = slotCount + (head − tail).
    this.otherBase = side.otherWaitsFor === 'space' ? memory.geometry.slotCount : 0;
    this.watched = {
      header: memory.header,
      word: side.otherPosition,
      waitingFlag: side.waiting,
      amount: () => this.amountNow(),
      amountAt: (position) => this.amountAt(position),
      closed: () => this.closed,
    };
    this.onClose = onClose;
    this.epoch = Atomics.load(memory.header, side.epoch) >>> 0;
  }

  /** Wake-ups sent to the other side while it slept (Atomics.notify calls); zero while it never sleeps. */
  get wakeupsSent(): number {
    return this.notifies;
  }

  /** Give up the role so another endpoint (this or another thread) may take it. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    // A wait of this endpoint sleeps on the other side's word, where only it waits: wake it, so
    // that closing ends the wait (it resolves false) instead of leaving it to its timeout.
    Atomics.notify(this.header, this.watched.word);
  }

  /** What this side waits for, now (free slots / ready frames), refreshing its copy of the other position. */
  protected abstract amountNow(): number;

  /** What it would have were the other side's position word `position`. */
  protected abstract amountAt(position: number): number;

  /** Resolve true once amountNow() reaches `min`, or false after timeoutMs or once this endpoint is closed. For the main thread. */
  protected async sleepUntil(min: number, timeoutMs: number): Promise<boolean> {
    this.checkWaitMin(min);
    return waitForAmount(this.watched, min, timeoutMs);
  }

  /** Blocking sleepUntil for worker threads (Atomics.wait). */
  protected sleepUntilSync(min: number, timeoutMs: number): boolean {
    this.checkWaitMin(min);
    return waitForAmountSync(this.watched, min, timeoutMs, this.side.waitSyncName);
  }

  /**
   * Move this side's position from `before` by `n` and return the new one: one store (across 2^32
   * the epoch too), then a notify if the other side sleeps and now has what it waits for, by
   * `cachedOther`, this side's copy of the other position. That copy can only be behind the real
   * one, so the estimate may overstate (a spare notify) but never misses a wake-up it owes.
   * Callers store the result in their own position field: one call per batch, no deeper (a
   * further helper level here slowed per-frame enqueue/dequeue measurably).
   */
  protected advance(before: number, n: number, cachedOther: number): number {
    if (n === 0) return before;
    const after = (before + n) | 0;
    const positionWord = this.positionWord;
    if ((before >>> 0) + n > 0xffffffff) {
      // The 32-bit position wraps: bump the epoch in the same sequenced update so a reader never
      // pairs the new position with the old epoch.
      this.epoch = (this.epoch + 1) >>> 0;
      this.counters.begin();
      Atomics.store(this.header, positionWord, after);
      Atomics.store(this.header, this.side.epoch, this.epoch | 0);
      this.counters.end();
    } else {
      Atomics.store(this.header, positionWord, after);
    }
    const wanted = Atomics.load(this.header, this.otherWaitingWord);
    if (wanted !== 0 && this.otherBase + ((after - cachedOther) | 0) >= wanted) {
      this.notifies++;
      Atomics.notify(this.header, positionWord, 1);
    }
    return after;
  }

  protected checkOpen(): void {
    if (this.closed) throw this.closedError();
  }

  /** Out of checkOpen, which stays small enough to inline into every call. */
  private closedError(): RingUsageError {
    return new RingUsageError(`${this.side.role} is closed`, {});
  }

  private checkWaitMin(min: number): void {
    this.checkOpen();
    if (!Number.isInteger(min) || min < 1 || min > this.slotCount) {
      throw new RingUsageError(`${this.side.waitName} min must be between 1 and slotCount`, { min, slotCount: this.slotCount });
    }
  }
}
