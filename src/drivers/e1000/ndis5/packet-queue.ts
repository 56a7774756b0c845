/**
 * A FIFO of items in flight, oldest first, in a power-of-two circular array: pushing and shifting
 * allocate nothing once it has grown to its working size. The NDIS 5 variant keeps its send
 * NDIS_PACKETs here in the order their frames reached the core (MiniportReserved in C would link
 * them); `truncate` takes back the newest entries when a send fails before any frame was taken.
 */
export class InFlightQueue<T> {
  private items: (T | undefined)[] = new Array<T | undefined>(256).fill(undefined);
  private mask = 255;
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(item: T): void {
    if (this.size === this.items.length) this.grow();
    this.items[(this.head + this.size) & this.mask] = item;
    this.size++;
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const at = this.head;
    const item = this.items[at];
    this.items[at] = undefined;
    this.head = (at + 1) & this.mask;
    this.size--;
    return item;
  }

  /** Removes the newest items so that `length` remain; returns them oldest first. */
  truncate(length: number): T[] {
    const out: T[] = [];
    while (this.size > length) {
      this.size--;
      const at = (this.head + this.size) & this.mask;
      out.unshift(this.items[at]!);
      this.items[at] = undefined;
    }
    return out;
  }

  private grow(): void {
    const old = this.items;
    const oldMask = this.mask;
    this.items = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (let i = 0; i < this.size; i++) this.items[i] = old[(this.head + i) & oldMask];
    this.mask = this.items.length - 1;
    this.head = 0;
  }
}
