import { readSync, writeSync } from 'node:fs';
import { RingUsageError } from './errors.ts';
import type { PacketRing } from './packet-ring.ts';

/**
 * Moving frames between the ring and a positional file — the shared guest-RAM file, where file
 * offset = guest physical address — with one copy and no per-frame allocation.
 */

/**
 * pread `count` consecutive guest buffers, `stride` bytes apart from `position`, into slots
 * first .. first+count-1 (a run from claim(), which never wraps). When stride equals the slot size
 * the whole run is one read syscall; otherwise one per buffer, each `readLength` bytes.
 * Returns the bytes read.
 */
export function readRunFromFile(
  fd: number,
  ring: PacketRing,
  first: number,
  count: number,
  position: number,
  stride: number = ring.slotSize,
  readLength: number = Math.min(stride, ring.slotSize),
): number {
  if (first < 0 || count < 0 || first + count > ring.slotCount) {
    throw new RingUsageError('slot run outside the ring', { first, count, slotCount: ring.slotCount });
  }
  if (readLength > ring.slotSize) {
    throw new RingUsageError('read length exceeds the slot size', { readLength, slotSize: ring.slotSize });
  }
  if (stride === ring.slotSize && readLength === ring.slotSize) {
    return readSync(fd, ring.data, ring.slotOffset(first), count * ring.slotSize, position);
  }
  let total = 0;
  for (let i = 0; i < count; i++) {
    total += readSync(fd, ring.data, ring.slotOffset(first + i), readLength, position + i * stride);
  }
  return total;
}

/** pwrite the frame in `slot` (its published length) to `position`: one syscall, no copy in JS. */
export function writeSlotToFile(fd: number, ring: PacketRing, slot: number, position: number): number {
  return writeSync(fd, ring.data, ring.slotOffset(slot), ring.slotLength(slot), position);
}
