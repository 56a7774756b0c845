/**
 * Decoding of PCI base address registers (type 0 header) from their value and from what they
 * read back after writing all ones (the sizing protocol). Pure functions: no I/O here.
 */

export type BarKind = 'io' | 'mem32' | 'mem64';

export interface BarInfo {
  index: number;
  kind: BarKind;
  prefetchable: boolean;
  /** Decoded size in bytes (a power of two); 0 when the BAR is not implemented. */
  size: number;
}

/** BAR0 lives at config offset 0x10; BAR n at 0x10 + 4n. */
export function barOffset(index: number): number {
  return 0x10 + 4 * index;
}

export function barKind(value: number): BarKind {
  if (value & 1) return 'io';
  return ((value >>> 1) & 3) === 2 ? 'mem64' : 'mem32';
}

/**
 * Size of a BAR from its sizing read-back (all ones written). I/O BARs decode bits 31:2 (only
 * 15:2 implemented on x86: the upper half reads back as zero), memory BARs bits 31:4. For a
 * 64-bit BAR pass the upper dword's read-back too.
 */
export function decodeBarSize(readback: number, upperReadback?: number): number {
  const v = readback >>> 0;
  if (v === 0) return 0;
  if (v & 1) {
    let mask = v & 0xffff_fffc;
    // 16-bit I/O decoders leave the upper half zero: treat it as all ones for the arithmetic.
    if ((mask & 0xffff_0000) === 0) mask = (mask | 0xffff_0000) >>> 0;
    return ((~mask >>> 0) + 1) >>> 0;
  }
  const low = (v & 0xffff_fff0) >>> 0;
  if (barKind(v) === 'mem64' && upperReadback !== undefined) {
    const mask = (BigInt(upperReadback >>> 0) << 32n) | BigInt(low);
    const size = (~mask & 0xffff_ffff_ffff_ffffn) + 1n;
    return Number(size);
  }
  if (low === 0) return 0;
  return ((~low >>> 0) + 1) >>> 0;
}

/** The address bits of a BAR value (flags stripped). */
export function barAddress(value: number): number {
  return value & 1 ? (value & 0xffff_fffc) >>> 0 : (value & 0xffff_fff0) >>> 0;
}
