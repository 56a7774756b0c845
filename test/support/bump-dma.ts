/**
 * A bump DMA allocator for unit tests: aligned regions from 1 MiB up, never reused, with what is
 * live and what was freed kept for leak and double-free checks.
 */
export interface AllocatedRegion {
  address: number;
  size: number;
  tag: string;
}

export class BumpDma {
  private next = 1024 * 1024;
  readonly live = new Set<AllocatedRegion>();
  readonly freed: AllocatedRegion[] = [];

  alloc(size: number, opts: { align?: number; tag?: string } = {}): AllocatedRegion {
    const align = opts.align ?? 64;
    const address = Math.ceil(this.next / align) * align;
    this.next = address + size;
    const r = { address, size, tag: opts.tag ?? '' };
    this.live.add(r);
    return r;
  }

  free(region: AllocatedRegion): void {
    if (!this.live.delete(region)) throw new Error(`double free of ${region.tag}`);
    this.freed.push(region);
  }
}
