import type { WDFREQUEST } from '../../../wdf/index.ts';

/**
 * Write requests the driver owns, in the order their frames reached the core: a power-of-two
 * circular array of handles, so pushing and shifting allocate nothing once it has grown to its
 * working size. `truncate` takes back the newest entries when a send fails before the core took them.
 */
export class RequestFifo {
  private items = new Float64Array(256);
  private mask = 255;
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(request: WDFREQUEST): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & this.mask] = request;
    this.size++;
  }

  /** The oldest request, removed; null when empty. */
  shift(): WDFREQUEST | null {
    if (this.size === 0) return null;
    const request = this.items[this.head]! as WDFREQUEST;
    this.head = (this.head + 1) & this.mask;
    this.size--;
    return request;
  }

  /** Removes the newest requests so that `length` remain; returns them oldest first. */
  truncate(length: number): WDFREQUEST[] {
    const out: WDFREQUEST[] = [];
    while (this.size > length) {
      this.size--;
      out.unshift(this.items[(this.head + this.size) & this.mask]! as WDFREQUEST);
    }
    return out;
  }

  private grow(): void {
    const old = this.items;
    const oldMask = this.mask;
    this.items = new Float64Array(old.length * 2);
    for (let i = 0; i < this.size; i++) this.items[i] = old[(this.head + i) & oldMask]!;
    this.mask = this.items.length - 1;
    this.head = 0;
  }
}
