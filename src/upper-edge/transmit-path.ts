import type { PacketRing, RingClaim, RingConsumer } from '../ring/index.ts';
import type { UpperEdgeTap } from './tap.ts';

/**
 * How many frames each hand-out took from the TX ring: that depends on how many the host had put
 * there by then, which is timing. A recording logs each count; a replay takes the same counts, so the
 * driver gets the same batches (src/record).
 */
export interface HandOutLog {
  /** A replay's: how many frames the next hand-out takes (undefined: any, past the recording, unless `due` says no). */
  readonly next?: () => number | undefined;
  /**
   * A replay's: false while what the driver did before the next hand-out in the recording has not
   * all happened yet; the hand-out waits for it. `progress`: as in handedOut.
   */
  readonly due?: (progress?: number) => boolean;
  /** A replay's: `wake` is called when a held-back hand-out becomes due. */
  readonly attach?: (wake: () => void) => void;
  /**
   * Each hand-out's count, and, for a log that keeps it, how far the giver had got then (the KMDF
   * edge: the frames it had published), which a replay's hand-out waits for too.
   */
  handedOut(count: number, progress?: number): void;
}

export interface TransmitPathCounters {
  /** Frames handed to the driver. */
  handedOut: number;
  /** Frames whose send completed, and those that completed with a failure status. */
  completed: number;
  failed: number;
  /** Ring slots released back to the producer (always in order). */
  released: number;
}

/**
 * The transmit half of the upper edge: frames are read in place from the TX PacketRing (peek), handed
 * to the driver while still in their slots, and the slots are released strictly in order as sends
 * complete — completions may come back in any order; a slot is released once it and every slot
 * before it are done. In-flight slots are a contiguous run from the ring's head that never wraps
 * (peek never returns a run past the end of the slot array), so at the wrap the pipeline drains once.
 */
export class TransmitPath {
  readonly counters: TransmitPathCounters = { handedOut: 0, completed: 0, failed: 0, released: 0 };
  readonly ring: PacketRing;
  private readonly consumer: RingConsumer;
  private readonly done: Uint8Array;
  private readonly run: RingClaim = { first: 0, count: 0 };
  /** Slots handed out from the head and not yet released. */
  private inFlightSlots = 0;
  /** The slot at the ring's head (next to release). */
  private headSlot = 0;
  private readonly tap: UpperEdgeTap | undefined;
  private readonly handOuts: HandOutLog | undefined;

  /** `tap` sees every frame handed out and every failed send; `handOuts` logs or dictates each hand-out's count. */
  constructor(ring: PacketRing, tap?: UpperEdgeTap, handOuts?: HandOutLog) {
    this.ring = ring;
    this.tap = tap;
    this.handOuts = handOuts;
    this.consumer = ring.consumer();
    this.done = new Uint8Array(ring.slotCount);
    this.headSlot = this.consumer.peek(0).first;
  }

  /** A replay holds the next hand-out back: what came before it in the recording has not all happened (see onDue). */
  get heldBack(): boolean {
    return this.handOuts?.due?.() === false;
  }

  /** `wake` is called when a held-back hand-out becomes due (a replay's; never otherwise). */
  onDue(wake: () => void): void {
    this.handOuts?.attach?.(wake);
  }

  /** Frames handed out and not yet released. */
  get inFlight(): number {
    return this.inFlightSlots;
  }

  /** Frames waiting in the ring beyond those in flight (a peek: it refreshes the producer's tail). */
  waiting(): number {
    return Math.max(0, this.consumer.available() - this.inFlightSlots);
  }

  /**
   * The next frames not yet handed out: up to `max` slots from `first` (a reused object, valid until
   * the next call). Hand them out with handOut(count).
   */
  next(max: number): RingClaim {
    const peeked = this.consumer.peek();
    this.headSlot = peeked.first;
    const avail = peeked.count - this.inFlightSlots;
    this.run.first = peeked.first + this.inFlightSlots;
    this.run.count = avail > 0 ? Math.min(avail, max) : 0;
    const want = this.handOuts?.next?.();
    // A replay: the recorded batch, when due, once that many frames are there (fewer: wait for the host's next send).
    if (want !== undefined) this.run.count = avail >= want && !this.heldBack ? Math.min(want, max) : 0;
    // Past the recorded batches: none while the replay says so (the recorded session handed out no more).
    else if (this.heldBack) this.run.count = 0;
    return this.run;
  }

  /** The first `count` slots of the last next() run went to the driver. */
  handOut(count: number): void {
    if (this.tap) {
      const ring = this.ring;
      for (let slot = this.run.first; slot < this.run.first + count; slot++) this.tap.sent(ring.slotView(slot), 0, ring.slotLength(slot));
    }
    this.inFlightSlots += count;
    this.counters.handedOut += count;
    this.handOuts?.handedOut(count);
  }

  /** The send of the frame in `slot` completed. */
  complete(slot: number, ok: boolean): void {
    this.done[slot] = 1;
    this.counters.completed++;
    if (!ok) {
      this.counters.failed++;
      this.tap?.sendFailed();
    }
  }

  /** Release every completed slot at the head, in order; returns how many. */
  releaseCompleted(): number {
    let slot = this.headSlot;
    let n = 0;
    while (n < this.inFlightSlots && this.done[slot] === 1) {
      this.done[slot] = 0;
      n++;
      slot++;
      if (slot === this.ring.slotCount) slot = 0;
    }
    if (n === 0) return 0;
    // release() is relative to the latest peek, which starts at the head.
    this.consumer.peek();
    this.consumer.release(n);
    this.inFlightSlots -= n;
    this.headSlot = slot;
    this.counters.released += n;
    return n;
  }

  /**
   * Wait until more frames than are in flight are in the ring, or the timeout passes. The threshold
   * is fixed when the wait starts: call it with nothing in flight.
   */
  async waitForFrames(timeoutMs: number): Promise<boolean> {
    return this.consumer.waitForData(timeoutMs, Math.min(this.ring.slotCount, this.inFlightSlots + (this.handOuts?.next?.() ?? 1)));
  }

  /** Give up the consumer role. */
  close(): void {
    this.consumer.close();
  }
}
