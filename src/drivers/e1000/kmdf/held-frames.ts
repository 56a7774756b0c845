/**
 * Received frames waiting for a read request, oldest first: the core's receive views (valid until
 * the frames are given back with returnReceives) and their lengths, in a circular array as large
 * as the RX ring (the most the core can have indicated and not had back). Allocation-free.
 */
export class HeldFrames {
  private readonly views: (Uint8Array | undefined)[];
  private readonly lengths: Uint16Array;
  private head = 0;
  private size = 0;
  /** Largest number of frames held at once. */
  peak = 0;

  constructor(capacity: number) {
    this.views = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.lengths = new Uint16Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(view: Uint8Array, length: number): void {
    if (this.size === this.views.length) throw new RangeError(`more than ${this.views.length} received frames held`);
    const at = (this.head + this.size) % this.views.length;
    this.views[at] = view;
    this.lengths[at] = length;
    this.size++;
    if (this.size > this.peak) this.peak = this.size;
  }

  /** The oldest frame's view (its bytes are view[0, frontLength)). */
  get frontView(): Uint8Array {
    return this.views[this.head]!;
  }

  get frontLength(): number {
    return this.lengths[this.head]!;
  }

  shift(): void {
    this.views[this.head] = undefined;
    this.head = (this.head + 1) % this.views.length;
    this.size--;
  }

  /** Forget every frame; returns how many there were. */
  clear(): number {
    const n = this.size;
    while (this.size > 0) this.shift();
    return n;
  }
}
