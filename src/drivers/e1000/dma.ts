import type { DmaAllocator, DmaRegion } from '../../platform/dma-allocator.ts';
import type { GuestMemory } from '../../platform/guest-memory.ts';

/** What the rings need of guest memory: synchronous pread/pwrite of the shared RAM file. */
export type RingMemory = Pick<GuestMemory, 'readInto' | 'write'>;

/** What the rings need of the DMA allocator. */
export type RingDma = Pick<DmaAllocator, 'alloc' | 'free'>;

export type { DmaRegion, GuestMemory };

/**
 * Length of the first contiguous run when `count` entries starting at `first` are taken from a
 * ring of `size` entries; the rest (count - result) continues at entry 0.
 */
export function firstRunLength(first: number, count: number, size: number): number {
  return Math.min(count, size - first);
}

/** `toGuest` is a pwrite of the mirror into guest memory, `fromGuest` a pread into the mirror. */
export type Direction = 'toGuest' | 'fromGuest';

/**
 * Copies slots [first, first+count) of a ring between its host mirror and guest memory with one
 * pread/pwrite per contiguous run (two when the range wraps). Each run spans from its first slot's
 * start to its last slot's end, or, with `lengths`, to the end of the last slot's frame
 * (`lengths[slot]` bytes): the unused tails of the slots in between go along, because one large
 * copy costs less than a system call per frame.
 */
export function copySlots(
  memory: RingMemory,
  direction: Direction,
  base: number,
  mirror: Buffer,
  slotSize: number,
  size: number,
  first: number,
  count: number,
  lengths?: Uint16Array,
): void {
  const run = firstRunLength(first, count, size);
  copyRun(memory, direction, base, mirror, slotSize, first, run, lengths);
  if (run < count) copyRun(memory, direction, base, mirror, slotSize, 0, count - run, lengths);
}

function copyRun(
  memory: RingMemory,
  direction: Direction,
  base: number,
  mirror: Buffer,
  slotSize: number,
  first: number,
  count: number,
  lengths: Uint16Array | undefined,
): void {
  const last = first + count - 1;
  const start = first * slotSize;
  const end = lengths ? last * slotSize + lengths[last]! : (last + 1) * slotSize;
  const view = mirror.subarray(start, end);
  if (direction === 'toGuest') memory.write(base + start, view);
  else memory.readInto(base + start, view);
}
