import type { DmaAllocator, DmaRegion } from '../../platform/dma-allocator.ts';
import type { GuestMemory } from '../../platform/guest-memory.ts';
import { DESCRIPTOR_SIZE } from './descriptors.ts';
import { checkRingSize, DEFAULT_RING_SIZE, PACKET_BUFFER_SIZE, type RingOptions } from './ring-layout.ts';

/** What the rings need of guest memory: synchronous pread/pwrite of the shared RAM file. */
export type RingMemory = Pick<GuestMemory, 'readInto' | 'write'>;

/** What the rings need of the DMA allocator. */
export type RingDma = Pick<DmaAllocator, 'alloc' | 'free'>;

/** `toGuest` is a pwrite of the mirror into guest memory, `fromGuest` a pread into the mirror. */
export type Direction = 'toGuest' | 'fromGuest';

/**
 * Length of the first contiguous run when `count` entries starting at `first` are taken from a
 * ring of `size` entries; the rest (count - result) continues at entry 0.
 */
export function firstRunLength(first: number, count: number, size: number): number {
  return Math.min(count, size - first);
}

/**
 * The memory of one descriptor ring: the descriptor array and one contiguous area of
 * size × 2048-byte packet buffers in DMA memory, each with a host-side mirror that batches are
 * staged in (TX) or read into (RX).
 *
 * Copies between a mirror and guest memory take one pread/pwrite per contiguous run of slots (two
 * when the range wraps). A packet run spans from its first slot's start to the end of its last
 * slot's frame (`lengths[slot]` bytes): the unused tails of the slots in between go along, because
 * one large copy costs less than a system call per frame. The read names the frames in it as the
 * parts the driver uses (GuestMemory.readInto), so a session recording keeps the frames, not the tails.
 */
export class RingStorage {
  readonly size: number;
  readonly descriptors: DmaRegion;
  readonly buffers: DmaRegion;
  /** Host copy of the descriptor array. */
  readonly descriptorMirror: Buffer;
  /** Slot i's 2048 bytes of the host packet mirror. */
  readonly slotViews: readonly Buffer[];
  /** Frame length per slot: how much of the last slot of a run copyPackets moves. */
  readonly lengths: Uint16Array;
  private readonly packetMirror: Buffer;
  /** The frames of a packet run read from the guest (offset, length pairs): what the driver looks at. */
  private readonly used: number[] = [];

  constructor(
    private readonly memory: RingMemory,
    private readonly dma: RingDma,
    ring: 'TX' | 'RX',
    opts: RingOptions = {},
  ) {
    this.size = opts.size ?? DEFAULT_RING_SIZE;
    checkRingSize(this.size, ring);
    const tag = `${opts.tag ?? 'e1000'} ${ring.toLowerCase()}`;
    this.descriptors = dma.alloc(this.size * DESCRIPTOR_SIZE, { align: 128, tag: `${tag} descriptors` });
    try {
      this.buffers = dma.alloc(this.size * PACKET_BUFFER_SIZE, { align: 4096, tag: `${tag} buffers` });
    } catch (err) {
      dma.free(this.descriptors);
      throw err;
    }
    this.descriptorMirror = Buffer.alloc(this.size * DESCRIPTOR_SIZE);
    this.packetMirror = Buffer.alloc(this.size * PACKET_BUFFER_SIZE);
    this.slotViews = Array.from({ length: this.size }, (_, i) => this.packetMirror.subarray(i * PACKET_BUFFER_SIZE, (i + 1) * PACKET_BUFFER_SIZE));
    this.lengths = new Uint16Array(this.size);
  }

  /** Guest-physical address of a slot's packet buffer. */
  bufferAddress(slot: number): number {
    return this.buffers.address + slot * PACKET_BUFFER_SIZE;
  }

  /** Moves descriptors [first, first+count) between the mirror and guest memory. */
  copyDescriptors(direction: Direction, first: number, count: number): void {
    const run = firstRunLength(first, count, this.size);
    this.copyRun(direction, this.descriptors.address, this.descriptorMirror, DESCRIPTOR_SIZE, first, run, undefined);
    if (run < count) this.copyRun(direction, this.descriptors.address, this.descriptorMirror, DESCRIPTOR_SIZE, 0, count - run, undefined);
  }

  /** Moves the frames of slots [first, first+count) (as long as `lengths` says) between the mirror and guest memory. */
  copyPackets(direction: Direction, first: number, count: number): void {
    const run = firstRunLength(first, count, this.size);
    this.copyRun(direction, this.buffers.address, this.packetMirror, PACKET_BUFFER_SIZE, first, run, this.lengths);
    if (run < count) this.copyRun(direction, this.buffers.address, this.packetMirror, PACKET_BUFFER_SIZE, 0, count - run, this.lengths);
  }

  /** Gives both DMA regions back; only once the NIC no longer owns them. */
  release(): void {
    this.dma.free(this.buffers);
    this.dma.free(this.descriptors);
  }

  private copyRun(direction: Direction, base: number, mirror: Buffer, stride: number, first: number, count: number, lengths: Uint16Array | undefined): void {
    const last = first + count - 1;
    const start = first * stride;
    const end = lengths ? last * stride + lengths[last]! : (last + 1) * stride;
    const view = mirror.subarray(start, end);
    if (direction === 'toGuest') this.memory.write(base + start, view);
    else if (lengths === undefined) this.memory.readInto(base + start, view);
    else this.memory.readInto(base + start, view, this.framesOf(first, count, stride, lengths));
  }

  private framesOf(first: number, count: number, stride: number, lengths: Uint16Array): number[] {
    const used = this.used;
    used.length = 0;
    for (let i = 0; i < count; i++) used.push(i * stride, lengths[first + i]!);
    return used;
  }
}
