// A run's timeline in a neutral form: tracks (one per processor, its IRQL as a counter, the
// interrupt lines, the wire) and events on them. The kernel, the platform and the host feed it;
// perfetto.ts and html.ts write it out. Times are nanoseconds since the timeline was created.

/** A value shown with an event (register name and value, frame length, ...). */
export type TimelineArg = string | number | boolean;
export type TimelineArgs = Readonly<Record<string, TimelineArg>>;

/**
 * An instant's args worked out when the timeline is written, not when the event happens: a hot
 * path (every frame on the wire track) keeps the bytes it needs and pays no formatting then.
 */
export abstract class LazyArgs {
  abstract resolve(): TimelineArgs;
}

/** An event's args as the writers show them. */
export function argsOf(args: TimelineArgs | LazyArgs | undefined): TimelineArgs | undefined {
  return args instanceof LazyArgs ? args.resolve() : args;
}

export type TrackKind = 'processor' | 'irql' | 'lines' | 'wire' | 'host';

export interface TimelineTrack {
  readonly id: number;
  readonly name: string;
  readonly kind: TrackKind;
  /** Counter tracks carry values (TYPE_COUNTER), the others slices and instants. */
  readonly counter: boolean;
  readonly processor?: number;
}

export type TimelineEvent =
  | { readonly type: 'begin'; readonly track: number; readonly ts: number; readonly name: string; readonly category: string; readonly args?: TimelineArgs }
  | { readonly type: 'end'; readonly track: number; readonly ts: number }
  | { readonly type: 'instant'; readonly track: number; readonly ts: number; readonly name: string; readonly category: string; readonly args?: TimelineArgs | LazyArgs }
  | { readonly type: 'counter'; readonly track: number; readonly ts: number; readonly value: number };

export class TimelineError extends Error {
  readonly context: Readonly<Record<string, unknown>>;

  constructor(message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = 'TimelineError';
    this.context = context;
  }
}

export interface TimelineOptions {
  /** Shown as the trace's process name. */
  readonly name?: string;
  readonly processors?: number;
  /**
   * Most events kept; later ones are counted in `dropped`, not stored (a run of hours must not
   * grow without bound). Slices that began are still ended, so nesting stays valid.
   */
  readonly limit?: number;
  /** The clock, in ms (performance.now by default; tests pass their own). */
  readonly now?: () => number;
}

const DEFAULT_LIMIT = 1_000_000;

/**
 * What happened in a run, per track. Slices must nest per track (end closes the innermost open
 * slice), as on a processor: an ISR nested in a DPC ends before it.
 */
export class Timeline {
  readonly name: string;
  readonly tracks: TimelineTrack[] = [];
  readonly events: TimelineEvent[] = [];
  readonly limit: number;
  /** Events not stored because the limit was reached. */
  dropped = 0;
  private readonly clock: () => number;
  private readonly origin: number;
  /** Per track, the open slices innermost last: whether each one's begin was stored. */
  private readonly open = new Map<number, boolean[]>();
  private readonly byName = new Map<string, number>();

  constructor(opts: TimelineOptions = {}) {
    this.name = opts.name ?? 'dirql';
    this.limit = opts.limit ?? DEFAULT_LIMIT;
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new TimelineError(`limit must be a positive integer, got ${this.limit}`, { limit: this.limit });
    this.clock = opts.now ?? (() => performance.now());
    this.origin = this.clock();
    const n = opts.processors ?? 1;
    for (let i = 0; i < n; i++) {
      this.addTrack(`CPU ${i}`, 'processor', false, i);
      this.addTrack(`CPU ${i} IRQL`, 'irql', true, i);
    }
  }

  /** Nanoseconds since the timeline began. */
  now(): number {
    return Math.round((this.clock() - this.origin) * 1e6);
  }

  /** The track named `name`, made on first use. */
  track(name: string, kind: TrackKind = 'host', counter = false): number {
    return this.byName.get(name) ?? this.addTrack(name, kind, counter);
  }

  processorTrack(processor: number): number {
    return this.requireTrack(`CPU ${processor}`);
  }

  irqlTrack(processor: number): number {
    return this.requireTrack(`CPU ${processor} IRQL`);
  }

  begin(track: number, name: string, category: string, args?: TimelineArgs, ts = this.now()): void {
    this.checkTrack(track, false);
    const stored = this.push(args ? { type: 'begin', track, ts, name, category, args } : { type: 'begin', track, ts, name, category });
    const stack = this.open.get(track);
    if (stack) stack.push(stored);
    else this.open.set(track, [stored]);
  }

  end(track: number, ts = this.now()): void {
    this.checkTrack(track, false);
    const stack = this.open.get(track);
    if (!stack || stack.length === 0) throw new TimelineError(`end on track ${this.tracks[track]!.name} with no open slice`, { track });
    // The end of a stored begin is stored past the limit too, so the trace still nests.
    if (stack.pop()) this.events.push({ type: 'end', track, ts });
    else this.dropped++;
  }

  instant(track: number, name: string, category: string, args?: TimelineArgs | LazyArgs, ts = this.now()): void {
    this.checkTrack(track, false);
    this.push(args ? { type: 'instant', track, ts, name, category, args } : { type: 'instant', track, ts, name, category });
  }

  counter(track: number, value: number, ts = this.now()): void {
    this.checkTrack(track, true);
    this.push({ type: 'counter', track, ts, value });
  }

  /** Close every slice still open (a run that stopped mid-ISR), so the trace nests. */
  closeAll(ts = this.now()): void {
    for (const [track, stack] of this.open) while (stack.length > 0) this.end(track, ts);
  }

  private addTrack(name: string, kind: TrackKind, counter: boolean, processor?: number): number {
    const id = this.tracks.length;
    this.tracks.push(processor === undefined ? { id, name, kind, counter } : { id, name, kind, counter, processor });
    this.byName.set(name, id);
    return id;
  }

  private requireTrack(name: string): number {
    const id = this.byName.get(name);
    if (id === undefined) throw new TimelineError(`no track ${name} (the timeline has ${this.tracks.filter((t) => t.kind === 'processor').length} processors)`, { track: name });
    return id;
  }

  private checkTrack(track: number, counter: boolean): void {
    const t = this.tracks[track];
    if (!t) throw new TimelineError(`no track ${track}`, { track });
    if (t.counter !== counter)
      throw new TimelineError(`track ${t.name} ${t.counter ? 'is a counter track: only counter values' : 'takes slices and instants, not counter values'}`, { track });
  }

  private push(e: TimelineEvent): boolean {
    if (this.events.length >= this.limit) {
      this.dropped++;
      return false;
    }
    this.events.push(e);
    return true;
  }
}
