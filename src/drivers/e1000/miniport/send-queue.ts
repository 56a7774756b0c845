import { copyRange } from '../../../util/bytes.ts';

/**
 * Frames accepted by send() that the TX ring could not take yet, oldest first: a circular queue of
 * (view, offset, length) kept in parallel arrays, so queueing a frame allocates nothing once the
 * queue has grown to its working size.
 */
export class SendQueue {
  private views: (Uint8Array | undefined)[];
  private offsets: Uint32Array;
  private lengths: Uint32Array;
  private head = 0;
  private size = 0;
  /** Largest length the queue has reached. */
  peak = 0;

  constructor(initialCapacity = 256) {
    const capacity = Math.max(1, initialCapacity);
    this.views = new Array<Uint8Array | undefined>(capacity).fill(undefined);
    this.offsets = new Uint32Array(capacity);
    this.lengths = new Uint32Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  push(view: Uint8Array, offset: number, length: number): void {
    if (this.size === this.views.length) this.grow();
    const at = (this.head + this.size) % this.views.length;
    this.views[at] = view;
    this.offsets[at] = offset;
    this.lengths[at] = length;
    this.size++;
    if (this.size > this.peak) this.peak = this.size;
  }

  /** Copies the i-th queued frame (0 = oldest) into `target` from its start; returns its length. */
  copyOut(i: number, target: Buffer): number {
    const at = (this.head + i) % this.views.length;
    const length = this.lengths[at]!;
    const offset = this.offsets[at]!;
    copyRange(this.views[at]!, offset, length, target, 0);
    return length;
  }

  /** Forgets the `n` oldest frames. */
  shift(n: number): void {
    for (let i = 0; i < n; i++) this.views[(this.head + i) % this.views.length] = undefined;
    this.head = (this.head + n) % this.views.length;
    this.size -= n;
  }

  /** Forgets the newest frames so that `length` remain (undoes pushes). */
  truncate(length: number): void {
    while (this.size > length) {
      this.size--;
      this.views[(this.head + this.size) % this.views.length] = undefined;
    }
  }

  clear(): void {
    this.shift(this.size);
  }

  private grow(): void {
    const old = this.views.length;
    const views = new Array<Uint8Array | undefined>(old * 2).fill(undefined);
    const offsets = new Uint32Array(old * 2);
    const lengths = new Uint32Array(old * 2);
    for (let i = 0; i < this.size; i++) {
      const from = (this.head + i) % old;
      views[i] = this.views[from];
      offsets[i] = this.offsets[from]!;
      lengths[i] = this.lengths[from]!;
    }
    this.views = views;
    this.offsets = offsets;
    this.lengths = lengths;
    this.head = 0;
  }
}
