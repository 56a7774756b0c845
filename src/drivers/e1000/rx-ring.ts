import type { DmaRegion } from '../../platform/dma-allocator.ts';
import { clearRxWriteBack, DESCRIPTOR_SIZE, encodeRxDescriptor, rxDescriptorErrors, rxDescriptorLength, rxDescriptorStatus, RxStatus } from './descriptors.ts';
import { Reg, type E1000Registers } from './registers.ts';
import { highHalf, lowHalf, PACKET_BUFFER_SIZE, type RingOptions } from './ring-layout.ts';
import { RingStorage, type RingDma, type RingMemory } from './ring-storage.ts';

export interface RxRingCounters {
  /** Frames handed to visit() and accepted by it. */
  received: number;
  /** Bytes of those frames. */
  bytes: number;
  /** Delivered frames whose descriptor had error bits set. */
  rxErrors: number;
  /** Frames spread over several descriptors (no EOP: only possible with LPE), dropped. */
  fragmentsDropped: number;
  /** Times visit() refused a frame (the upper edge was full); the frame stays for the next harvest. */
  visitorFull: number;
  /** Descriptors given back to the NIC. */
  refilled: number;
  /** RDT writes. */
  doorbells: number;
}

/**
 * Receives one frame. `view` is the whole 2048-byte slot and is valid only during the call; the
 * frame is its first `length` bytes (CRC stripped; frames under 60 bytes arrive padded to 60).
 * Return false to refuse it: harvesting stops and the frame is offered again next time.
 */
export type RxVisit = (view: Buffer, length: number, status: number, errors: number) => boolean;

/**
 * The legacy receive ring (SDM 3.2), in a RingStorage (descriptors and 2048-byte packet buffers
 * in DMA memory, mirrored host-side).
 *
 * harvest() reads the descriptors the NIC owns (one pread, two on wrap), takes the leading run
 * with DD set, reads their packets in one pread per contiguous run and hands them to the visitor.
 * refill() zeroes the write-back fields of what was harvested (QEMU ORs DD/EOP into whatever status
 * it finds), writes those descriptors back in one pwrite and moves RDT once.
 *
 * Slots [next, rdt) belong to the NIC; [rdt, next) to software, at least one of them always:
 * RDH == RDT means "no descriptors" to the NIC.
 */
export class RxRing {
  readonly size: number;
  readonly descriptors: DmaRegion;
  readonly buffers: DmaRegion;
  readonly counters: RxRingCounters = {
    received: 0,
    bytes: 0,
    rxErrors: 0,
    fragmentsDropped: 0,
    visitorFull: 0,
    refilled: 0,
    doorbells: 0,
  };

  private readonly storage: RingStorage;
  private next = 0;
  private rdt = 0;
  /** Inside a multi-descriptor frame that is being dropped. */
  private discarding = false;

  constructor(
    memory: RingMemory,
    private readonly registers: E1000Registers,
    dma: RingDma,
    opts: RingOptions = {},
  ) {
    this.storage = new RingStorage(memory, dma, 'RX', opts);
    this.size = this.storage.size;
    this.descriptors = this.storage.descriptors;
    this.buffers = this.storage.buffers;
  }

  /** RDLEN value. */
  get byteLength(): number {
    return this.size * DESCRIPTOR_SIZE;
  }

  /** Descriptors the NIC may fill (handed over and not yet harvested). */
  get nicOwned(): number {
    return (this.rdt - this.next + this.size) % this.size;
  }

  /** Harvested descriptors refill() would give back now. */
  get pendingRefill(): number {
    return (this.next - 1 - this.rdt + this.size) % this.size;
  }

  /** The RDT value software last wrote. */
  get tailIndex(): number {
    return this.rdt;
  }

  /**
   * Writes every descriptor (buffer address, zeroed write-back), then programs
   * RDBAL/RDBAH/RDLEN/RDH = 0/RDT = size - 1: all but one descriptor belong to the NIC.
   * Only while RX is disabled.
   */
  async program(): Promise<void> {
    for (let slot = 0; slot < this.size; slot++) {
      encodeRxDescriptor(this.storage.descriptorMirror, slot * DESCRIPTOR_SIZE, this.storage.bufferAddress(slot));
    }
    this.storage.copyDescriptors('toGuest', 0, this.size);
    this.next = 0;
    this.rdt = this.size - 1;
    this.discarding = false;
    const r = this.registers;
    await r.write32(Reg.RDBAL, lowHalf(this.descriptors.address));
    await r.write32(Reg.RDBAH, highHalf(this.descriptors.address));
    await r.write32(Reg.RDLEN, this.byteLength);
    await r.write32(Reg.RDH, 0);
    await r.write32(Reg.RDT, this.rdt);
    this.counters.doorbells++;
  }

  /**
   * Hands up to `max` received frames to `visit`, in arrival order, and returns how many it
   * accepted. Reads guest memory only: no register access. Call refill() afterwards.
   */
  harvest(max: number, visit: RxVisit): number {
    const look = Math.min(max, this.nicOwned);
    if (look <= 0) return 0;
    const { descriptorMirror: mirror, slotViews, lengths } = this.storage;
    this.storage.copyDescriptors('fromGuest', this.next, look);
    let ready = 0;
    for (let slot = this.next; ready < look; ready++) {
      const at = slot * DESCRIPTOR_SIZE;
      if ((rxDescriptorStatus(mirror, at) & RxStatus.DD) === 0) break;
      lengths[slot] = Math.min(rxDescriptorLength(mirror, at), PACKET_BUFFER_SIZE);
      if (++slot === this.size) slot = 0;
    }
    if (ready === 0) return 0;
    this.storage.copyPackets('fromGuest', this.next, ready);

    let delivered = 0;
    let slot = this.next;
    for (let i = 0; i < ready; i++) {
      const at = slot * DESCRIPTOR_SIZE;
      const status = rxDescriptorStatus(mirror, at);
      const errors = rxDescriptorErrors(mirror, at);
      if ((status & RxStatus.EOP) === 0) {
        if (!this.discarding) this.counters.fragmentsDropped++;
        this.discarding = true;
      } else if (this.discarding) {
        this.discarding = false;
      } else {
        const length = lengths[slot]!;
        if (!visit(slotViews[slot]!, length, status, errors)) {
          this.counters.visitorFull++;
          break;
        }
        delivered++;
        this.counters.bytes += length;
        if (errors !== 0) this.counters.rxErrors++;
      }
      clearRxWriteBack(mirror, at);
      if (++slot === this.size) slot = 0;
    }
    this.next = slot;
    this.counters.received += delivered;
    return delivered;
  }

  /** Gives every harvested descriptor back to the NIC: one pwrite (two on wrap) and one RDT write. */
  async refill(): Promise<number> {
    const count = this.pendingRefill;
    if (count === 0) return 0;
    this.storage.copyDescriptors('toGuest', this.rdt, count);
    this.rdt = (this.rdt + count) % this.size;
    this.counters.refilled += count;
    this.counters.doorbells++;
    await this.registers.write32(Reg.RDT, this.rdt);
    return count;
  }

  /** Gives the DMA regions back; only once the NIC no longer owns them (RX disabled). */
  release(): void {
    this.storage.release();
  }
}
