import { ResourceExhaustedError, hex } from './errors.ts';

/**
 * A bump allocator over one address window (MMIO or I/O space) for BAR assignment: each BAR is
 * placed at the next address aligned to its own size (PCI requires natural alignment), so
 * assignments never overlap. `reset()` starts over (after a machine reset wiped the BARs).
 */
export class ResourceWindow {
  private next: number;

  constructor(
    readonly name: string,
    readonly start: number,
    /** Exclusive end. */
    readonly end: number,
  ) {
    if (!(end > start)) throw new RangeError(`window ${name}: end ${hex(end)} must be above start ${hex(start)}`);
    this.next = start;
  }

  allocate(size: number, what: string): number {
    if (!Number.isSafeInteger(size) || size <= 0 || !Number.isInteger(Math.log2(size))) {
      throw new ResourceExhaustedError(`${what}: BAR size ${size} is not a power of two`, { window: this.name, size, what });
    }
    const base = Math.ceil(this.next / size) * size;
    if (base + size > this.end) {
      throw new ResourceExhaustedError(`${this.name} window has no room for ${what} (${hex(size)} bytes)`, {
        window: this.name,
        size,
        what,
        next: this.next,
        end: this.end,
      });
    }
    this.next = base + size;
    return base;
  }

  reset(): void {
    this.next = this.start;
  }
}
