import type { DmaRegion } from '../../platform/dma-allocator.ts';
import { DESCRIPTOR_SIZE, encodeTxDescriptor, TxCmd, TxSta, txDescriptorSta } from './descriptors.ts';
import { E1000ConfigError } from './errors.ts';
import { Reg, type E1000Registers } from './registers.ts';
import { highHalf, lowHalf, PACKET_BUFFER_SIZE, type RingOptions } from './ring-layout.ts';
import { RingStorage, type RingDma, type RingMemory } from './ring-storage.ts';

export interface TxRingCounters {
  /** Frames handed to the NIC. */
  submitted: number;
  /** Frames the NIC reported done (DD written back). */
  completed: number;
  /** Bytes handed to the NIC. */
  bytes: number;
  /** Calls to submit() that could not take every frame offered because the ring was full. */
  ringFull: number;
  /** TDT writes. */
  doorbells: number;
}

/**
 * Fills one frame into the ring. `index` is the frame's position in this batch (0-based); `view`
 * is that slot's staging area (PACKET_BUFFER_SIZE bytes). Returns the frame's length, or 0 to end
 * the batch early.
 */
export type TxFill = (index: number, view: Buffer) => number;

/**
 * The legacy transmit ring (SDM 3.4), in a RingStorage (descriptors and 2048-byte packet buffers
 * in DMA memory, mirrored host-side).
 *
 * A batch is staged in the mirrors and leaves in as few pwrites as possible (packets, then
 * descriptors; a wrap splits each in two), then ONE posted TDT write rings the doorbell.
 * Completions are found by reading the in-flight descriptors back (one pread) and checking DD,
 * never by reading TDH, which would cost a register round trip. Every descriptor asks for status
 * (RS), so completions are counted frame by frame.
 *
 * Slot `tail` is the next to fill (the TDT value); slots [clean, tail) are in flight. One slot
 * always stays empty: TDH == TDT means an empty ring to the NIC.
 */
export class TxRing {
  readonly size: number;
  readonly descriptors: DmaRegion;
  readonly buffers: DmaRegion;
  readonly counters: TxRingCounters = { submitted: 0, completed: 0, bytes: 0, ringFull: 0, doorbells: 0 };

  private readonly storage: RingStorage;
  private tail = 0;
  private clean = 0;
  private command: number = TxCmd.EOP | TxCmd.IFCS | TxCmd.RS;

  constructor(
    memory: RingMemory,
    private readonly registers: E1000Registers,
    dma: RingDma,
    opts: RingOptions = {},
  ) {
    this.storage = new RingStorage(memory, dma, 'TX', opts);
    this.size = this.storage.size;
    this.descriptors = this.storage.descriptors;
    this.buffers = this.storage.buffers;
  }

  /** TDLEN value. */
  get byteLength(): number {
    return this.size * DESCRIPTOR_SIZE;
  }

  /** Frames handed to the NIC and not yet seen complete. */
  get inFlight(): number {
    return (this.tail - this.clean + this.size) % this.size;
  }

  /** Frames submit() can take right now. */
  get available(): number {
    return this.size - 1 - this.inFlight;
  }

  /** The TDT value software last wrote. */
  get tailIndex(): number {
    return this.tail;
  }

  /**
   * IDE on every descriptor: TXDW then waits for the TIDV/TADV delay timers (QEMU implements TADV
   * only, and only for descriptors with IDE).
   */
  setInterruptDelay(enabled: boolean): void {
    this.command = TxCmd.EOP | TxCmd.IFCS | TxCmd.RS | (enabled ? TxCmd.IDE : 0);
  }

  /**
   * Zeroes the descriptors, forgets in-flight frames and programs TDBAL/TDBAH/TDLEN/TDH/TDT
   * (head = tail = 0: empty). Only while TX is disabled.
   */
  async program(): Promise<void> {
    this.storage.descriptorMirror.fill(0);
    this.storage.copyDescriptors('toGuest', 0, this.size);
    this.tail = 0;
    this.clean = 0;
    const r = this.registers;
    await r.write32(Reg.TDBAL, lowHalf(this.descriptors.address));
    await r.write32(Reg.TDBAH, highHalf(this.descriptors.address));
    await r.write32(Reg.TDLEN, this.byteLength);
    await r.write32(Reg.TDH, 0);
    await r.write32(Reg.TDT, 0);
  }

  /**
   * Stages up to `count` frames through `fill` and hands them to the NIC with one doorbell.
   * Returns how many were taken: fewer than `count` when the ring is full (the caller keeps the
   * rest, nothing is dropped) or when `fill` returned 0. A length outside 1..2048 throws before
   * anything is handed over (a rejected promise). A plain number when the doorbell had nothing to
   * wait for (no interrupt pending at the TDT write), so the batch send path makes no promise.
   */
  submit(count: number, fill: TxFill): number | Promise<number> {
    try {
      return this.stageAndRing(count, fill);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private stageAndRing(count: number, fill: TxFill): number | Promise<number> {
    const room = this.available;
    const n = Math.min(count, room);
    if (n < count) this.counters.ringFull++;
    if (n <= 0) return 0;
    const first = this.tail;
    const { descriptorMirror, slotViews, lengths } = this.storage;
    let accepted = 0;
    let bytes = 0;
    for (let slot = first; accepted < n; accepted++) {
      const length = fill(accepted, slotViews[slot]!);
      if (length === 0) break;
      if (!Number.isInteger(length) || length < 1 || length > PACKET_BUFFER_SIZE) {
        throw new E1000ConfigError(`TX frame length ${length} is outside 1..${PACKET_BUFFER_SIZE}`, {
          length,
          index: accepted,
          slot,
        });
      }
      lengths[slot] = length;
      encodeTxDescriptor(descriptorMirror, slot * DESCRIPTOR_SIZE, this.storage.bufferAddress(slot), length, this.command);
      bytes += length;
      if (++slot === this.size) slot = 0;
    }
    if (accepted === 0) return 0;
    this.storage.copyPackets('toGuest', first, accepted);
    this.storage.copyDescriptors('toGuest', first, accepted);
    this.tail = (first + accepted) % this.size;
    this.counters.submitted += accepted;
    this.counters.bytes += bytes;
    this.counters.doorbells++;
    const ringing = this.registers.write32(Reg.TDT, this.tail);
    return ringing !== undefined ? ringing.then(() => accepted) : accepted;
  }

  /** Counts the frames the NIC has finished since the last call (one pread of the in-flight descriptors). */
  reap(): number {
    const pending = this.inFlight;
    if (pending === 0) return 0;
    this.storage.copyDescriptors('fromGuest', this.clean, pending);
    const mirror = this.storage.descriptorMirror;
    let done = 0;
    let slot = this.clean;
    while (done < pending && (txDescriptorSta(mirror, slot * DESCRIPTOR_SIZE) & TxSta.DD) !== 0) {
      done++;
      if (++slot === this.size) slot = 0;
    }
    this.clean = slot;
    this.counters.completed += done;
    return done;
  }

  /** Gives the DMA regions back; only once the NIC no longer owns them (TX disabled). */
  release(): void {
    this.storage.release();
  }
}
