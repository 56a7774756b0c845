/**
 * 64-bit counters in the shared header, written by one side and read whole from any thread.
 *
 * Int32 words are the only tear-free shared cells, so each counter is a lo/hi pair and every
 * update is bracketed by a sequence word (odd while writing). The writer pays two extra stores per
 * update, and the head/tail words themselves stay plain 32-bit positions: their 2^32 wrap bumps an
 * epoch under the same sequence word, so enqueued/dequeued need no extra store per batch.
 */
const TWO_32 = 2 ** 32;

export class SequencedWriter {
  private seq: number;

  constructor(
    private readonly header: Int32Array,
    private readonly seqWord: number,
  ) {
    // The only writer of this word: resume from what a previous endpoint left. Odd means that
    // endpoint died mid-update (a terminated worker): make it even again before writing.
    this.seq = Atomics.load(header, seqWord);
    if ((this.seq & 1) !== 0) {
      this.seq = (this.seq + 1) | 0;
      Atomics.store(header, seqWord, this.seq);
    }
  }

  begin(): void {
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.header, this.seqWord, this.seq);
  }

  end(): void {
    this.seq = (this.seq + 1) | 0;
    Atomics.store(this.header, this.seqWord, this.seq);
  }

  /** Only between begin() and end(). `value` is a non-negative integer below 2^53. */
  store64(loWord: number, value: number): void {
    Atomics.store(this.header, loWord, (value % TWO_32) | 0);
    Atomics.store(this.header, loWord + 1, Math.floor(value / TWO_32) | 0);
  }
}

export function load64(header: Int32Array, loWord: number): number {
  return (Atomics.load(header, loWord + 1) >>> 0) * TWO_32 + (Atomics.load(header, loWord) >>> 0);
}

/**
 * An odd sequence word that stays unchanged this many reads belongs to a writer that died
 * mid-update (a terminated worker) rather than one that is busy: an update is a few stores.
 */
const STALLED_WRITER_READS = 100_000;

/** Run `read` until it sees no writer in progress and no update in between. */
export function readSequenced<T>(header: Int32Array, seqWord: number, read: () => T): T {
  let stalled = 0;
  let last = Atomics.load(header, seqWord);
  for (;;) {
    const before = Atomics.load(header, seqWord);
    if ((before & 1) === 0) {
      const value = read();
      if (Atomics.load(header, seqWord) === before) return value;
    } else if (before === last && ++stalled >= STALLED_WRITER_READS) {
      // Nobody will finish that update: the words no longer move, so the read is stable.
      return read();
    } else if (before !== last) {
      stalled = 0;
    }
    last = before;
  }
}
