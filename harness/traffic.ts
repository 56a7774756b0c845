import { ETHERTYPE_LOCAL_EXPERIMENTAL } from './ethernet.ts';
import { parseTestFrame } from '../src/test-frames/index.ts';

// The frame format and the generator are shared with the host (its `send` control method):
// they live in src/test-frames; the verifier is the harness's own.
export * from '../src/test-frames/index.ts';

export interface VerifierCounters {
  /** Intact frames seen for the first time (in order or late). */
  ok: number;
  /** Sequence numbers skipped and not (yet) received: gaps, plus tail losses in summary(). */
  lost: number;
  /** Intact first-time frames that arrived after a higher sequence number (a subset of ok). */
  reordered: number;
  /** Frames whose sequence number was already received. */
  duplicated: number;
  /** Frames of ours that fail a check (header CRC, length, frame CRC, payload pattern). */
  corrupted: number;
  /** Frames that are not test frames (other EtherType, no magic, too short). */
  foreign: number;
}

export type FrameVerdict = 'ok' | 'reordered' | 'duplicated' | 'corrupted' | 'foreign';

export interface VerifierOptions {
  etherType?: number;
  /**
   * First sequence number expected on every stream (default 0, what generators start at), or
   * 'first': start from whatever arrives first, so earlier frames count as duplicates, not late.
   */
  expectStart?: number | 'first';
  /** A jump larger than this is counted as lost without remembering each gap. Default 1 Mi. */
  maxTrackedGap?: number;
}

export interface StreamState {
  stream: number;
  /** Highest sequence number received (intact or with a damaged payload), or -1. */
  highest: number;
  /** Sequence numbers skipped and not received. */
  missing: number;
}

class StreamTracker {
  highest = -1;
  /** Sequence number counting started from: the expected start, or the first arrival. */
  base: number | undefined;
  readonly missing = new Set<number>();
  untrackedLost = 0;

  constructor(
    readonly stream: number,
    private readonly start: number | undefined,
    private readonly maxGap: number,
  ) {}

  /** Record that `seq` arrived; returns whether it was new and whether it arrived late. */
  arrive(seq: number): 'new' | 'late' | 'again' {
    if (this.highest < 0) {
      const from = this.start ?? seq;
      if (seq < from) return 'again';
      this.base = from;
      this.skip(from, seq);
      this.highest = seq;
      return 'new';
    }
    if (seq > this.highest) {
      this.skip(this.highest + 1, seq);
      this.highest = seq;
      return 'new';
    }
    return this.missing.delete(seq) ? 'late' : 'again';
  }

  private skip(from: number, to: number): void {
    if (to - from > this.maxGap) {
      this.untrackedLost += to - from;
      return;
    }
    for (let s = from; s < to; s++) this.missing.add(s);
  }

  lost(expectedCount?: number): number {
    let lost = this.missing.size + this.untrackedLost;
    if (expectedCount !== undefined) {
      const base = this.base ?? this.start ?? 0;
      const last = base + expectedCount - 1;
      if (last > this.highest) lost += last - Math.max(this.highest, base - 1);
    }
    return lost;
  }
}

/**
 * Checks received test frames independently of any driver: counts loss (gaps), reordering,
 * duplication and corruption per stream. A frame with a damaged payload but a sound header is
 * counted as corrupted and its sequence number as received (not lost); a frame with a damaged
 * header cannot be attributed, so its sequence number also shows up as lost.
 */
export class FrameVerifier {
  private readonly etherType: number;
  private readonly start: number | undefined;
  private readonly maxGap: number;
  private readonly trackers = new Map<number, StreamTracker>();
  private readonly totals = { ok: 0, reordered: 0, duplicated: 0, corrupted: 0, foreign: 0 };

  constructor(options: VerifierOptions = {}) {
    this.etherType = options.etherType ?? ETHERTYPE_LOCAL_EXPERIMENTAL;
    this.start = options.expectStart === 'first' ? undefined : (options.expectStart ?? 0);
    this.maxGap = options.maxTrackedGap ?? 1 << 20;
  }

  accept(frame: Uint8Array): FrameVerdict {
    const parsed = parseTestFrame(frame, this.etherType);
    if (parsed.kind === 'foreign') {
      this.totals.foreign++;
      return 'foreign';
    }
    if (parsed.kind === 'damaged-header') {
      this.totals.corrupted++;
      return 'corrupted';
    }
    const arrival = this.tracker(parsed.stream).arrive(parsed.seq);
    if (!parsed.intact) {
      this.totals.corrupted++;
      return 'corrupted';
    }
    if (arrival === 'again') {
      this.totals.duplicated++;
      return 'duplicated';
    }
    this.totals.ok++;
    if (arrival === 'late') {
      this.totals.reordered++;
      return 'reordered';
    }
    return 'ok';
  }

  /** Counters so far; `lost` counts gaps below the highest sequence number seen. */
  get counters(): VerifierCounters {
    return this.summary();
  }

  /**
   * Counters with tail losses included: `expected` frames per stream (a number applies to every
   * stream seen; a map also names streams that never arrived), counted from the expected start.
   */
  summary(expected?: number | ReadonlyMap<number, number>): VerifierCounters {
    let lost = 0;
    for (const t of this.trackers.values()) {
      lost += t.lost(typeof expected === 'number' ? expected : expected?.get(t.stream));
    }
    if (typeof expected === 'object') {
      for (const [stream, count] of expected) if (!this.trackers.has(stream)) lost += count;
    }
    return { ...this.totals, lost };
  }

  streams(): StreamState[] {
    return [...this.trackers.values()].map((t) => ({
      stream: t.stream,
      highest: t.highest,
      missing: t.lost(),
    }));
  }

  private tracker(stream: number): StreamTracker {
    let t = this.trackers.get(stream);
    if (!t) {
      t = new StreamTracker(stream, this.start, this.maxGap);
      this.trackers.set(stream, t);
    }
    return t;
  }
}
