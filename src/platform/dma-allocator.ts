import { DmaError, hex } from './errors.ts';
import { LOW_MEMORY_LIMIT } from './guest-memory.ts';

/** A block of guest physical memory handed to a driver for DMA. */
export interface DmaRegion {
  readonly address: number;
  readonly size: number;
  readonly tag: string;
}

interface Span {
  start: number;
  /** Exclusive. */
  end: number;
}

/** Default alignment: a cache line, enough for the usual NIC descriptor rings (16 bytes) and buffers. */
const DEFAULT_ALIGN = 64;

/**
 * First-fit allocator of guest physical memory for descriptor rings and packet buffers.
 * Everything lies in [base, memorySize): base defaults to 1 MiB because the low megabyte is
 * overlaid by ROM. Freed spans are merged with their neighbours. Freeing a region twice, or one
 * this allocator did not hand out, is a `DmaError` (in a driver that is a use-after-free bug).
 */
export class DmaAllocator {
  readonly base: number;
  private free_: Span[];
  private readonly live = new Map<number, DmaRegion>();
  private bytesInUse = 0;

  constructor(
    readonly memorySize: number,
    opts: { base?: number } = {},
  ) {
    this.base = opts.base ?? LOW_MEMORY_LIMIT;
    if (!Number.isSafeInteger(memorySize) || !Number.isSafeInteger(this.base) || this.base < 0 || this.base >= memorySize) {
      throw new DmaError(`DMA window [${hex(this.base)}, ${hex(memorySize)}) is empty`, { base: this.base, memorySize });
    }
    this.free_ = [{ start: this.base, end: memorySize }];
  }

  /** Bytes currently allocated (sizes as requested). */
  get inUse(): number {
    return this.bytesInUse;
  }

  /** Number of live regions. */
  get regionCount(): number {
    return this.live.size;
  }

  alloc(size: number, opts: { align?: number; tag?: string } = {}): DmaRegion {
    const align = opts.align ?? DEFAULT_ALIGN;
    const tag = opts.tag ?? 'dma';
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new DmaError(`DMA alloc of ${size} bytes (${tag}): size must be a positive integer`, { size, tag });
    }
    if (!Number.isSafeInteger(align) || align <= 0 || !Number.isInteger(Math.log2(align))) {
      throw new DmaError(`DMA alloc (${tag}): alignment ${align} is not a power of two`, { size, align, tag });
    }
    for (let i = 0; i < this.free_.length; i++) {
      const span = this.free_[i]!;
      const address = Math.ceil(span.start / align) * align;
      if (address + size > span.end) continue;
      const pieces: Span[] = [];
      if (address > span.start) pieces.push({ start: span.start, end: address });
      if (address + size < span.end) pieces.push({ start: address + size, end: span.end });
      this.free_.splice(i, 1, ...pieces);
      const region: DmaRegion = Object.freeze({ address, size, tag });
      this.live.set(address, region);
      this.bytesInUse += size;
      return region;
    }
    throw new DmaError(`DMA memory exhausted: no ${size} bytes aligned to ${align} for ${tag}`, {
      size,
      align,
      tag,
      inUse: this.bytesInUse,
      largestFree: this.free_.reduce((m, s) => Math.max(m, s.end - s.start), 0),
    });
  }

  free(region: DmaRegion): void {
    const live = this.live.get(region.address);
    if (live === undefined) {
      throw new DmaError(`DMA free of ${region.tag} at ${hex(region.address)}: not allocated (double free?)`, {
        address: region.address,
        size: region.size,
        tag: region.tag,
      });
    }
    if (live !== region && (live.size !== region.size || live.tag !== region.tag)) {
      throw new DmaError(`DMA free at ${hex(region.address)}: region does not match the allocation (${live.tag}, ${live.size} bytes)`, {
        address: region.address,
        size: region.size,
        tag: region.tag,
        allocatedSize: live.size,
        allocatedTag: live.tag,
      });
    }
    this.live.delete(region.address);
    this.bytesInUse -= live.size;
    this.insertFree({ start: live.address, end: live.address + live.size });
  }

  /** Releases everything (driver teardown, machine reset). */
  freeAll(): void {
    this.live.clear();
    this.bytesInUse = 0;
    this.free_ = [{ start: this.base, end: this.memorySize }];
  }

  /** True if [address, address+length) lies inside one live region. */
  owns(address: number, length = 1): boolean {
    for (const r of this.live.values()) {
      if (address >= r.address && address + length <= r.address + r.size) return true;
    }
    return false;
  }

  private insertFree(span: Span): void {
    let i = 0;
    while (i < this.free_.length && this.free_[i]!.start < span.start) i++;
    this.free_.splice(i, 0, span);
    // Merge with the right neighbour, then the left.
    const right = this.free_[i + 1];
    if (right && right.start === span.end) {
      span.end = right.end;
      this.free_.splice(i + 1, 1);
    }
    const left = this.free_[i - 1];
    if (left && left.end === span.start) {
      left.end = span.end;
      this.free_.splice(i, 1);
    }
  }
}
