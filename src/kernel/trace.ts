/** One recent event: an MMIO access, an IRQ edge, a DPC, a transport command. */
export interface TraceEvent {
  /** performance.now() in ms when it was recorded. */
  readonly t: number;
  readonly kind: string;
  readonly processor?: number;
  readonly detail: string;
}

/**
 * Bounded ring of recent events. The platform feeds transport/IRQ events, DeviceRegisters feeds
 * register accesses; a bug check report includes the tail, like the last lines of a bus analyser.
 */
export class TraceBuffer {
  readonly capacity: number;
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;
  private count = 0;

  constructor(capacity = 512) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`TraceBuffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.ring = new Array<TraceEvent | undefined>(capacity);
  }

  record(kind: string, detail: string, processor?: number): void {
    this.ring[this.next] = processor === undefined
      ? { t: performance.now(), kind, detail }
      : { t: performance.now(), kind, detail, processor };
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** The last `n` events, oldest first. */
  tail(n = this.capacity): TraceEvent[] {
    const take = Math.min(n, this.count);
    const out: TraceEvent[] = [];
    for (let i = take; i > 0; i--) {
      const e = this.ring[(this.next - i + this.capacity) % this.capacity];
      if (e) out.push(e);
    }
    return out;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.count = 0;
  }
}
