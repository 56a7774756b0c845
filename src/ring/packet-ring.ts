import { RingConsumer } from './consumer.ts';
import { load64, readSequenced } from './counters.ts';
import { RingRoleTakenError, RingUsageError } from './errors.ts';
import { RING_MAGIC, RING_VERSION, W, computeGeometry, readGeometry } from './layout.ts';
import { type RingMemory, mapRingMemory } from './memory.ts';
import { RingProducer } from './producer.ts';

export interface PacketRingOptions {
  /** Number of slots, a power of two (2 .. 2^20). */
  slotCount: number;
  /** Bytes per slot, a multiple of 8 (64 .. 65536). Default 2048: a 1518-byte frame fits. */
  slotSize?: number;
  /**
   * Initial value of the 32-bit head/tail positions (default 0). Counters stay relative to it;
   * tests use it to cross the 2^32 position wrap without pushing four billion frames.
   */
  startPosition?: number;
}

/** A consistent snapshot of the ring's accounting. enqueued − dequeued = occupancy, always. */
export interface RingStats {
  readonly slotCount: number;
  readonly slotSize: number;
  /** Frames published by the producer since creation. */
  readonly enqueued: number;
  /** Frames released by the consumer since creation. */
  readonly dequeued: number;
  /** enqueued − dequeued: frames in the ring when the snapshot was taken. */
  readonly occupancy: number;
  /** Offers the ring refused because it was full (a frame retried later counts again). */
  readonly fullRejects: number;
  /** Frames the producer gave up on after a refusal (`drop`, `*OrDrop`): the only loss. */
  readonly dropped: number;
  /** Dequeue/peek calls that found the ring empty. */
  readonly emptyPolls: number;
  readonly producerWaiting: boolean;
  readonly consumerWaiting: boolean;
}

const TWO_32 = 2 ** 32;

/**
 * Single-producer single-consumer ring of fixed-size packet slots in one SharedArrayBuffer, for
 * the packet path between the driver (DPC side) and the upper edge. Positions and counters live in
 * the buffer, so `PacketRing.attach(ring.buffer)` in a worker opens the very same ring; the
 * producer and consumer roles are each held by one endpoint at a time, on whichever thread.
 */
export class PacketRing {
  readonly buffer: SharedArrayBuffer;
  readonly slotCount: number;
  readonly slotSize: number;
  /** Every slot's bytes, slot i at slotOffset(i): lets one pread/pwrite cover a contiguous run. */
  readonly data: Uint8Array;
  private readonly memory: RingMemory;

  constructor(options: PacketRingOptions) {
    const geometry = computeGeometry(options.slotCount, options.slotSize ?? 2048);
    const start = options.startPosition ?? 0;
    if (!Number.isInteger(start) || start < 0 || start > 0xffffffff) {
      throw new RingUsageError('startPosition must be a 32-bit unsigned integer', { startPosition: start });
    }
    const sab = new SharedArrayBuffer(geometry.byteLength);
    const header = new Int32Array(sab, 0, geometry.lengthsOffset / 4);
    header[W.SLOT_COUNT] = geometry.slotCount;
    header[W.SLOT_SIZE] = geometry.slotSize;
    header[W.LENGTHS_OFFSET] = geometry.lengthsOffset;
    header[W.DATA_OFFSET] = geometry.dataOffset;
    header[W.START_POSITION] = start | 0;
    header[W.HEAD] = start | 0;
    header[W.TAIL] = start | 0;
    header[W.VERSION] = RING_VERSION;
    // Last, and atomically: attach() trusts nothing until it sees the magic.
    Atomics.store(header, W.MAGIC, RING_MAGIC);
    this.memory = mapRingMemory(sab, geometry);
    this.buffer = sab;
    this.slotCount = geometry.slotCount;
    this.slotSize = geometry.slotSize;
    this.data = this.memory.data;
  }

  /** Open a ring created elsewhere (e.g. a SharedArrayBuffer received by a worker via postMessage). */
  static attach(sab: SharedArrayBuffer): PacketRing {
    const geometry = readGeometry(sab);
    const ring = Object.create(PacketRing.prototype) as PacketRing;
    const memory = mapRingMemory(sab, geometry);
    // Same property order as the constructor, so both kinds of ring share one hidden class.
    Object.assign(ring, {
      buffer: sab,
      slotCount: geometry.slotCount,
      slotSize: geometry.slotSize,
      data: memory.data,
      memory,
    });
    return ring;
  }

  /** Take the producer role. Throws RingRoleTakenError while another endpoint holds it. */
  producer(): RingProducer {
    this.takeRole(W.PRODUCER_ROLE, 'producer');
    return new RingProducer(this.memory, () => Atomics.store(this.memory.header, W.PRODUCER_ROLE, 0));
  }

  /** Take the consumer role. Throws RingRoleTakenError while another endpoint holds it. */
  consumer(): RingConsumer {
    this.takeRole(W.CONSUMER_ROLE, 'consumer');
    return new RingConsumer(this.memory, () => Atomics.store(this.memory.header, W.CONSUMER_ROLE, 0));
  }

  /**
   * Free a role whose holder can no longer close it — a worker that was terminated or crashed
   * while holding it. Only when the holder is known dead: two live producers (or consumers)
   * corrupt the ring. The positions and counters in the buffer stay valid for the successor.
   */
  forceReleaseRole(role: 'producer' | 'consumer'): void {
    Atomics.store(this.memory.header, role === 'producer' ? W.PRODUCER_ROLE : W.CONSUMER_ROLE, 0);
  }

  /** The preallocated view of one slot (slotSize bytes); valid for the side that owns the slot. */
  slotView(slot: number): Uint8Array {
    return this.memory.views[slot]!;
  }

  /** Frame length stored in a slot (set by publish/enqueue). */
  slotLength(slot: number): number {
    return this.memory.lengths[slot]!;
  }

  /** Byte offset of a slot within `data`. */
  slotOffset(slot: number): number {
    return slot * this.slotSize;
  }

  stats(): RingStats {
    const header = this.memory.header;
    const start = Atomics.load(header, W.START_POSITION) >>> 0;
    // Consumer side first: the producer's count, read later, can only be larger, so occupancy
    // never goes negative even while both sides run.
    const consumer = readSequenced(header, W.C_SEQ, () => ({
      dequeued: (Atomics.load(header, W.HEAD_EPOCH) >>> 0) * TWO_32 + (Atomics.load(header, W.HEAD) >>> 0) - start,
      emptyPolls: load64(header, W.EMPTY_POLLS_LO),
    }));
    const producer = readSequenced(header, W.P_SEQ, () => ({
      enqueued: (Atomics.load(header, W.TAIL_EPOCH) >>> 0) * TWO_32 + (Atomics.load(header, W.TAIL) >>> 0) - start,
      fullRejects: load64(header, W.FULL_REJECTS_LO),
      dropped: load64(header, W.DROPPED_LO),
    }));
    return {
      slotCount: this.slotCount,
      slotSize: this.slotSize,
      enqueued: producer.enqueued,
      dequeued: consumer.dequeued,
      occupancy: producer.enqueued - consumer.dequeued,
      fullRejects: producer.fullRejects,
      dropped: producer.dropped,
      emptyPolls: consumer.emptyPolls,
      producerWaiting: Atomics.load(header, W.PRODUCER_WAITING) !== 0,
      consumerWaiting: Atomics.load(header, W.CONSUMER_WAITING) !== 0,
    };
  }

  private takeRole(word: number, role: string): void {
    if (Atomics.compareExchange(this.memory.header, word, 0, 1) !== 0) {
      throw new RingRoleTakenError(`the ring already has a ${role}`, { role, slotCount: this.slotCount });
    }
  }
}
