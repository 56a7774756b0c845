import { HarnessConfigError } from './errors.ts';
import { ETHERNET_HEADER_LENGTH } from './ethernet.ts';
import { SeededRandom } from './prng.ts';

/**
 * Which frames a fault hits. Frames are numbered from 0 in the order they are offered to the plan.
 * A frame is hit if any criterion matches: `every: n` hits n-1, 2n-1, …; `probability` draws from
 * the plan's seeded PRNG (one stream per fault kind, so rules do not disturb each other); `at`
 * lists indices.
 */
export interface FaultSelector {
  every?: number;
  probability?: number;
  at?: Iterable<number>;
}

export interface CorruptFault extends FaultSelector {
  /**
   * Byte to damage: a fixed offset (clamped to the last byte), or a range drawn per frame.
   * Default: anywhere after the Ethernet header, so the frame still reaches the verifier as ours.
   */
  offset?: number | { min: number; max?: number };
}

export interface DelayFault extends FaultSelector {
  /** Hold the frame this long (a timer), letting later frames overtake it. */
  ms: number;
}

export interface FaultPlanOptions {
  /** Seeds every probabilistic choice. Default 1. */
  seed?: number;
  drop?: FaultSelector;
  /** Send a copy with one byte XORed with a non-zero mask; the caller's buffer is not touched. */
  corrupt?: CorruptFault;
  /** Send the frame twice in a row. */
  duplicate?: FaultSelector;
  /** Hold the frame and send it right after the next frame that is not itself held (a swap). */
  reorder?: FaultSelector;
  delay?: DelayFault;
}

/** What the plan did, so a test knows what the receiver should observe. */
export interface FaultCounts {
  /** Frames offered to the plan. */
  offered: number;
  /** Datagrams handed on to the wire (duplicates count twice; held or dropped ones not yet). */
  emitted: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  reordered: number;
  delayed: number;
  /** Held or delayed frames thrown away by cancel(). */
  discarded: number;
}

export type FrameSink = (frame: Buffer) => void;

class Selector {
  private readonly at: Set<number>;
  private readonly every: number;
  private readonly probability: number;
  private readonly random: SeededRandom;

  constructor(kind: string, spec: FaultSelector, seed: number) {
    const every = spec.every ?? 0;
    const probability = spec.probability ?? 0;
    if (!Number.isInteger(every) || every < 0) {
      throw new HarnessConfigError(`${kind}.every must be a non-negative integer (0 = off)`, { kind, every });
    }
    if (!(probability >= 0 && probability <= 1)) {
      throw new HarnessConfigError(`${kind}.probability must be within [0, 1]`, { kind, probability });
    }
    this.at = new Set(spec.at ?? []);
    this.every = every;
    this.probability = probability;
    this.random = new SeededRandom(seed);
  }

  hits(index: number): boolean {
    // Draw on every frame so the sequence of random choices does not depend on the other criteria.
    const drawn = this.probability > 0 && this.random.next() < this.probability;
    return drawn || this.at.has(index) || (this.every > 0 && (index + 1) % this.every === 0);
  }

  /** A per-frame random number from this fault's stream (for corruption offsets and masks). */
  int(min: number, max: number): number {
    return this.random.int(min, max);
  }
}

/**
 * Faults applied to frames the peer sends, in this order: drop, corrupt, duplicate, then
 * reorder or delay. Every fault is counted in `counts`.
 */
export class FaultPlan {
  readonly counts: FaultCounts = {
    offered: 0,
    emitted: 0,
    dropped: 0,
    corrupted: 0,
    duplicated: 0,
    reordered: 0,
    delayed: 0,
    discarded: 0,
  };
  private readonly drop?: Selector;
  private readonly corrupt?: Selector;
  private readonly corruptOffset: CorruptFault['offset'];
  private readonly duplicate?: Selector;
  private readonly reorder?: Selector;
  private readonly delay?: Selector;
  private readonly delayMs: number;
  private held: Buffer[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(options: FaultPlanOptions = {}) {
    const seed = options.seed ?? 1;
    // Distinct seeds per fault kind: adding a drop rule does not move which frames get corrupted.
    if (options.drop) this.drop = new Selector('drop', options.drop, seed ^ 0x0d0d0d0d);
    if (options.corrupt) this.corrupt = new Selector('corrupt', options.corrupt, seed ^ 0x0c0c0c0c);
    if (options.duplicate) this.duplicate = new Selector('duplicate', options.duplicate, seed ^ 0x0dd0dd0d);
    if (options.reorder) this.reorder = new Selector('reorder', options.reorder, seed ^ 0x0e0e0e0e);
    if (options.delay) {
      if (!(options.delay.ms >= 0)) throw new HarnessConfigError('delay.ms must be >= 0', { ms: options.delay.ms });
      this.delay = new Selector('delay', options.delay, seed ^ 0x0de1a70d);
    }
    this.corruptOffset = options.corrupt?.offset;
    this.delayMs = options.delay?.ms ?? 0;
  }

  /** Frames currently held for reordering or delay. */
  get pending(): number {
    return this.held.length + this.timers.size;
  }

  /** Apply the plan to one frame; whatever is sent now or later goes to `sink`. */
  process(frame: Buffer, sink: FrameSink): void {
    const index = this.counts.offered++;
    const dropHit = this.drop?.hits(index) ?? false;
    const corruptHit = this.corrupt?.hits(index) ?? false;
    const duplicateHit = this.duplicate?.hits(index) ?? false;
    const reorderHit = this.reorder?.hits(index) ?? false;
    const delayHit = this.delay?.hits(index) ?? false;
    if (dropHit) {
      this.counts.dropped++;
      return;
    }
    let out = frame;
    if (corruptHit) {
      out = this.damage(frame);
      this.counts.corrupted++;
    }
    const copies = duplicateHit ? [out, out] : [out];
    if (duplicateHit) this.counts.duplicated++;
    if (reorderHit) {
      this.counts.reordered++;
      this.held.push(...copies);
      return;
    }
    if (delayHit) {
      this.counts.delayed++;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        for (const c of copies) this.emit(c, sink);
      }, this.delayMs);
      this.timers.add(timer);
      return;
    }
    for (const c of copies) this.emit(c, sink);
    this.flush(sink);
  }

  /** Send frames held for reordering (at the end of a stream there is no next frame to wait for). */
  flush(sink: FrameSink): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.emit(h, sink);
  }

  /** Throw away held frames and pending delays (on close); returns how many. */
  cancel(): number {
    const n = this.held.length + this.timers.size;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.held = [];
    this.counts.discarded += n;
    return n;
  }

  private emit(frame: Buffer, sink: FrameSink): void {
    this.counts.emitted++;
    sink(frame);
  }

  private damage(frame: Buffer): Buffer {
    const copy = Buffer.from(frame);
    const last = copy.length - 1;
    const spec = this.corruptOffset;
    let offset: number;
    if (typeof spec === 'number') offset = Math.min(spec, last);
    else {
      const min = Math.min(spec?.min ?? ETHERNET_HEADER_LENGTH, last);
      const max = Math.min(spec?.max ?? last, last);
      offset = this.corrupt!.int(min, Math.max(min, max));
    }
    copy[offset] = copy[offset]! ^ this.corrupt!.int(1, 255);
    return copy;
  }
}

/** The part of the QMP client (src/transport/qmp-client.ts) that link faults need. */
export interface QmpExecutor {
  execute(command: string, args?: object): Promise<unknown>;
}

/** Take the link down (QMP `set_link`, netdev or device id): STATUS.LU clears, ICR.LSC is raised. */
export async function linkDown(qmp: QmpExecutor, id: string): Promise<void> {
  await qmp.execute('set_link', { name: id, up: false });
}

/** Bring the link back (QMP `set_link`); QEMU 7.2 reports link up about 500 ms later with LSC. */
export async function linkUp(qmp: QmpExecutor, id: string): Promise<void> {
  await qmp.execute('set_link', { name: id, up: true });
}
