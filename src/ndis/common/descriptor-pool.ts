/**
 * What an NDIS 6 NET_BUFFER_LIST pool and an NDIS 5 packet pool share: a fixed number of descriptors
 * allocated up front and reused, with ownership tracked so the facades catch double completions and
 * frees of descriptors still indicated up. Exhaustion is reported by the facades.
 */

/**
 * Who holds a descriptor (NBL or NDIS_PACKET) right now. NDIS tracks this implicitly; dirql tracks
 * it so that double completions, freeing one still indicated up, or indicating one twice are caught
 * at the call.
 */
export type DescriptorOwner =
  /** In its pool. */
  | 'free'
  /** Held by whoever allocated it (the miniport for receives, the protocol for sends). */
  | 'allocated'
  /** Indicated up and not yet returned (indicated without RESOURCES). */
  | 'indicated'
  /** Being indicated with RESOURCES: the protocol may read it until the call returns. */
  | 'lent'
  /** Given to the miniport's send handler and not yet completed. */
  | 'sending';

/** The fields every pooled descriptor carries for its pool. */
export interface PooledDescriptor {
  owner: DescriptorOwner;
  /** The adapter it was indicated by (while 'indicated' or 'lent'). */
  indicatedBy: object | null;
  /** The adapter whose send handler holds it (while 'sending'). */
  sentTo: object | null;
}

/** A fixed-size pool: `take` and `put` are raw (the facade checks IRQL and ownership). */
export abstract class DescriptorPool<T extends PooledDescriptor> {
  readonly size: number;
  /** Allocations refused because every descriptor was in use. */
  allocationFailures = 0;
  /** Largest number in use at once. */
  highWater = 0;
  freed = false;
  protected readonly all: T[] = [];
  private freeList: T[] = [];

  protected constructor(size: number) {
    this.size = size;
  }

  /** Allocate every descriptor (the subclass's constructor calls it once, when `make` may use `this`). */
  protected fill(make: () => T): void {
    for (let i = 0; i < this.size; i++) this.all.push(make());
    this.freeList = [...this.all].reverse();
  }

  get available(): number {
    return this.freeList.length;
  }

  get inUse(): number {
    return this.size - this.freeList.length;
  }

  /** Null when empty. */
  take(): T | null {
    const d = this.freeList.pop();
    if (!d) return null;
    d.owner = 'allocated';
    const used = this.size - this.freeList.length;
    if (used > this.highWater) this.highWater = used;
    return d;
  }

  put(d: T): void {
    d.owner = 'free';
    d.indicatedBy = null;
    d.sentTo = null;
    this.clear(d);
    this.freeList.push(d);
  }

  /** What else a descriptor forgets on its way back into the pool. */
  protected clear(_d: T): void {}
}
