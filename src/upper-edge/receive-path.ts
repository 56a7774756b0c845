import type { PacketRing, RingProducer } from '../ring/index.ts';
import { copyRange } from '../util/bytes.ts';
import type { UpperEdgeTap } from './tap.ts';

export interface ReceivePathCounters {
  /** Frames copied into the RX ring and published. */
  frames: number;
  bytes: number;
  /** Frames the ring had no room for: dropped, and counted in the ring's `dropped` too. */
  ringFull: number;
  /** Frames longer than a ring slot: dropped and counted. */
  oversize: number;
  /** Publishes (one per contiguous run of slots, so one or two per indication). */
  publishes: number;
}

/**
 * The receive half of the upper edge: frames indicated by the driver are copied straight from the
 * indicated buffer into the RX PacketRing's slots (one copy), a whole indication claimed at once and
 * published with one store per contiguous run. A full ring never blocks the DPC: what does not fit
 * is dropped and counted (here and in the ring's `dropped`), never lost silently.
 */
export class ReceivePath {
  readonly counters: ReceivePathCounters = { frames: 0, bytes: 0, ringFull: 0, oversize: 0, publishes: 0 };
  readonly ring: PacketRing;
  private readonly producer: RingProducer;
  private readonly lengths: Uint32Array;
  private remaining = 0;
  private first = 0;
  private runCount = 0;
  private used = 0;
  private full = false;

  private readonly onPublish: (() => void) | undefined;
  private readonly tap: UpperEdgeTap | undefined;

  /** `onPublish`: called after an indication's frames are published (see UpperEdgeOptions.onPublish); `tap` sees every frame. */
  constructor(ring: PacketRing, onPublish?: () => void, tap?: UpperEdgeTap) {
    this.ring = ring;
    this.tap = tap;
    this.producer = ring.producer();
    this.lengths = new Uint32Array(ring.slotCount);
    this.onPublish = onPublish;
  }

  /** Start an indication of `frames` frames. */
  begin(frames: number): void {
    this.remaining = frames;
    this.full = false;
    this.used = 0;
    this.runCount = 0;
  }

  /** Copy one frame (`length` bytes of `data` from `offset`) into the ring; false if it was dropped. */
  push(data: Uint8Array, offset: number, length: number): boolean {
    if (length > this.ring.slotSize) {
      this.counters.oversize++;
      this.tap?.indicationDropped('oversize', data, offset, length);
      this.producer.drop(1);
      this.remaining--;
      return false;
    }
    if (this.used === this.runCount) {
      if (this.used > 0) this.publishRun();
      if (!this.full) this.claimRun();
      if (this.runCount === 0) {
        this.full = true;
        this.counters.ringFull++;
        this.tap?.indicationDropped('ring full', data, offset, length);
        this.producer.drop(1);
        this.remaining--;
        return false;
      }
    }
    const slot = this.first + this.used;
    copyRange(data, offset, length, this.ring.slotView(slot), 0);
    this.lengths[this.used] = length;
    this.used++;
    this.remaining--;
    this.counters.bytes += length;
    this.tap?.indicated(data, offset, length);
    return true;
  }

  /** End the indication: publish what was copied. */
  commit(): void {
    const published = this.counters.publishes;
    if (this.used > 0) this.publishRun();
    this.remaining = 0;
    if (this.onPublish && this.counters.publishes !== published) this.onPublish();
  }

  /** Give up the producer role. */
  close(): void {
    this.producer.close();
  }

  private claimRun(): void {
    const claim = this.producer.claim(Math.max(1, this.remaining));
    this.first = claim.first;
    this.runCount = claim.count;
    this.used = 0;
  }

  private publishRun(): void {
    this.producer.publish(this.used, this.lengths);
    this.counters.frames += this.used;
    this.counters.publishes++;
    this.used = 0;
    this.runCount = 0;
  }
}
