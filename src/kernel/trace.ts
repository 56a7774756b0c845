/** One recent event: an MMIO access, an IRQ edge, a DPC, a transport command. */
export interface TraceEvent {
  /** performance.now() in ms when it was recorded. */
  readonly t: number;
  readonly kind: string;
  readonly processor?: number;
  readonly detail: string;
}

/**
 * Turns the raw fields of a lazily recorded event into its text. Called only when someone reads
 * the trace (a bug check report, a diagnostic), never on the hot path.
 */
export interface TraceFormatter {
  formatTrace(kind: string, a: number, b: number, name: string): string;
}

/** Slot value of `processors` for an event recorded without a processor. */
const NO_PROCESSOR = -1;

/**
 * Bounded ring of recent events. The platform feeds transport/IRQ events, DeviceRegisters feeds
 * register accesses; a bug check report includes the tail, like the last lines of a bus analyser.
 *
 * Recording is on the hot path (every register access) while reading happens only after a crash,
 * so the ring is preallocated columns and `recordLazy` keeps raw fields (two numbers, a name and
 * who formats them): no object and no string is built per event until `tail()` asks.
 */
export class TraceBuffer {
  readonly capacity: number;
  private readonly times: Float64Array;
  private readonly processors: Int16Array;
  private readonly kinds: string[];
  /** The text of events recorded with `record`; undefined for lazy ones. */
  private readonly details: (string | undefined)[];
  private readonly formatters: (TraceFormatter | undefined)[];
  private readonly numbersA: Float64Array;
  private readonly numbersB: Float64Array;
  private readonly names: string[];
  private next = 0;
  private count = 0;

  constructor(capacity = 512) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`TraceBuffer capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.times = new Float64Array(capacity);
    this.processors = new Int16Array(capacity);
    this.kinds = new Array<string>(capacity).fill('');
    this.details = new Array<string | undefined>(capacity).fill(undefined);
    this.formatters = new Array<TraceFormatter | undefined>(capacity).fill(undefined);
    this.numbersA = new Float64Array(capacity);
    this.numbersB = new Float64Array(capacity);
    this.names = new Array<string>(capacity).fill('');
  }

  record(kind: string, detail: string, processor?: number): void {
    const i = this.claim(kind, processor);
    this.details[i] = detail;
    this.formatters[i] = undefined;
  }

  /** An event whose text `formatter` builds from `a`, `b` and `name` if the trace is ever read. */
  recordLazy(kind: string, processor: number | undefined, formatter: TraceFormatter, a: number, b: number, name: string): void {
    const i = this.claim(kind, processor);
    this.details[i] = undefined;
    this.formatters[i] = formatter;
    this.numbersA[i] = a;
    this.numbersB[i] = b;
    this.names[i] = name;
  }

  /** The last `n` events, oldest first. */
  tail(n = this.capacity): TraceEvent[] {
    const take = Math.min(n, this.count);
    const out: TraceEvent[] = [];
    for (let k = take; k > 0; k--) out.push(this.event((this.next - k + this.capacity) % this.capacity));
    return out;
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.details.fill(undefined);
    this.formatters.fill(undefined);
    this.names.fill('');
    this.next = 0;
    this.count = 0;
  }

  private claim(kind: string, processor: number | undefined): number {
    const i = this.next;
    this.times[i] = performance.now();
    this.processors[i] = processor === undefined ? NO_PROCESSOR : processor;
    this.kinds[i] = kind;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.count < this.capacity) this.count++;
    return i;
  }

  private event(i: number): TraceEvent {
    const kind = this.kinds[i]!;
    const formatter = this.formatters[i];
    let detail: string;
    try {
      detail = formatter ? formatter.formatTrace(kind, this.numbersA[i]!, this.numbersB[i]!, this.names[i]!) : (this.details[i] ?? '');
    } catch (err) {
      // A report must come out even if a formatter is broken.
      detail = `(unformattable ${kind} event: ${err instanceof Error ? err.message : String(err)})`;
    }
    const t = this.times[i]!;
    const processor = this.processors[i]!;
    return processor === NO_PROCESSOR ? { t, kind, detail } : { t, kind, detail, processor };
  }
}
