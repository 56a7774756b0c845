import { E1000ConfigError } from './errors.ts';

/** Packet buffer per descriptor: RCTL.BSIZE 2048 on receive, and a whole standard frame on transmit. */
export const PACKET_BUFFER_SIZE = 2048;
export const DEFAULT_RING_SIZE = 256;
/** TDLEN/RDLEN must be a multiple of 128 bytes, i.e. of 8 descriptors; head and tail are 16-bit registers. */
const RING_SIZE_GRANULE = 8;
const RING_SIZE_MAX = 65536 - RING_SIZE_GRANULE;

export interface RingOptions {
  /** Number of descriptors: a multiple of 8, at least 8. Default 256. */
  size?: number;
  /** Tag prefix for the DMA regions (shows in allocator diagnostics). */
  tag?: string;
}

export function checkRingSize(size: number, ring: 'TX' | 'RX'): void {
  if (!Number.isInteger(size) || size < RING_SIZE_GRANULE || size > RING_SIZE_MAX || size % RING_SIZE_GRANULE !== 0) {
    throw new E1000ConfigError(`${ring} ring size ${size} is not a multiple of ${RING_SIZE_GRANULE} in ${RING_SIZE_GRANULE}..${RING_SIZE_MAX}`, { ring, size });
  }
}

/** Low 32 bits of a guest-physical address, for the *BAL registers. */
export function lowHalf(address: number): number {
  return address % 0x1_0000_0000;
}

/** High 32 bits of a guest-physical address, for the *BAH registers. */
export function highHalf(address: number): number {
  return Math.floor(address / 0x1_0000_0000);
}
