/**
 * The wire peer's side of the throughput and latency benchmarks. The raw baseline and the driver
 * host are measured against this same code, so their ratio compares the clients and nothing else:
 *
 * - ReceiveTally: the receiving end's count and sequence check (the peer's for TX, the client's
 *   for RX). Zero loss is a measured fact, not an assumption: every frame's sequence number is
 *   checked against the next expected one and a sample is checked byte for byte.
 * - WindowedSource: the peer sending for RX. It keeps at most `window` frames beyond what the
 *   receiver has taken and sends more only when the receiver reports frames taken (event-driven:
 *   no busy-wait stealing CPU from QEMU). With more in flight QEMU's UDP socket buffer overflows.
 */
import { ETHERTYPE_LOCAL_EXPERIMENTAL, MIN_TEST_FRAME_LENGTH, TEST_FRAME_MAGIC, TrafficGenerator, parseTestFrame, type WirePeer } from '../harness/index.ts';

/** Test frame field offsets (harness/traffic.ts layout): EtherType, magic, stream id, sequence. */
const OFF_ETHERTYPE = 12;
const OFF_MAGIC = 14;
const OFF_STREAM = 20;
const OFF_SEQ = 22;

const u16 = (f: Uint8Array, at: number): number => (f[at]! << 8) | f[at + 1]!;
const u32 = (f: Uint8Array, at: number): number => ((f[at]! << 24) | (f[at + 1]! << 16) | (f[at + 2]! << 8) | f[at + 3]!) >>> 0;

/** What the receiving end saw of one run. `valid` only when every frame arrived once, in order, intact. */
export interface LossReport {
  expected: number;
  received: number;
  /** expected − frames that arrived in sequence. */
  lost: number;
  /** Frames whose sequence number was not the next expected (gaps, duplicates, reordering). */
  outOfOrder: number;
  /** Frames that were not this run's test frames. */
  foreign: number;
  /** Frames checked byte for byte (every `sampleEvery`-th), and how many of them were damaged. */
  sampled: number;
  corrupted: number;
  valid: boolean;
}

/**
 * Counts frames of one test stream arriving at a receiver and checks their sequence. Reading the
 * sequence number costs a few byte loads; the full check (header CRC, frame CRC, payload) runs on
 * every `sampleEvery`-th frame only, so the check does not dominate the CPU figures.
 */
export class ReceiveTally {
  received = 0;
  private inOrder = 0;
  private outOfOrder = 0;
  private foreign = 0;
  private sampled = 0;
  private corrupted = 0;
  private nextSeq = 0;
  private expected = 0;
  private target = Number.POSITIVE_INFINITY;
  private wake: (() => void) | undefined;

  constructor(
    readonly stream: number,
    private readonly sampleEvery = 256,
  ) {}

  /** Start a run: `expected` frames with sequence numbers 0, 1, … */
  reset(expected: number): void {
    this.received = this.inOrder = this.outOfOrder = this.foreign = this.sampled = this.corrupted = 0;
    this.nextSeq = 0;
    this.expected = expected;
  }

  /** One frame, `frame[0, length)`, at the receiving end. */
  accept(frame: Uint8Array, length: number): void {
    if (
      length < MIN_TEST_FRAME_LENGTH ||
      u16(frame, OFF_ETHERTYPE) !== ETHERTYPE_LOCAL_EXPERIMENTAL ||
      u32(frame, OFF_MAGIC) !== TEST_FRAME_MAGIC ||
      u16(frame, OFF_STREAM) !== this.stream
    ) {
      this.foreign++;
      return;
    }
    const seq = u32(frame, OFF_SEQ);
    if (seq === this.nextSeq) {
      this.inOrder++;
      this.nextSeq = seq + 1;
    } else {
      this.outOfOrder++;
      if (seq > this.nextSeq) this.nextSeq = seq + 1;
    }
    if (++this.received % this.sampleEvery === 0) {
      this.sampled++;
      const parsed = parseTestFrame(frame.subarray(0, length));
      if (parsed.kind !== 'test' || !parsed.intact) this.corrupted++;
    }
    if (this.received >= this.target) this.wake?.();
  }

  /**
   * Resolves true once `count` frames have arrived, false if none arrived for `stallMs` (a lost
   * frame never comes, so a run that lost frames ends here instead of hanging).
   */
  until(count: number, stallMs: number): Promise<boolean> {
    if (this.received >= count) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let seen = this.received;
      const timer = setInterval(() => {
        if (this.received === seen) finish(false);
        seen = this.received;
      }, stallMs);
      const finish = (ok: boolean): void => {
        clearInterval(timer);
        this.wake = undefined;
        this.target = Number.POSITIVE_INFINITY;
        resolve(ok);
      };
      this.target = count;
      this.wake = () => finish(true);
    });
  }

  report(): LossReport {
    const lost = this.expected - this.inOrder;
    return {
      expected: this.expected,
      received: this.received,
      lost,
      outOfOrder: this.outOfOrder,
      foreign: this.foreign,
      sampled: this.sampled,
      corrupted: this.corrupted,
      valid: lost === 0 && this.received === this.expected && this.outOfOrder === 0 && this.corrupted === 0,
    };
  }
}

/** The peer as the TX receiver: every frame QEMU puts on the wire goes into `tally`. */
export function sinkInto(peer: WirePeer, tally: ReceiveTally): () => void {
  return peer.onFrame((frame) => tally.accept(frame, frame.length));
}

/**
 * The peer as the RX sender: keeps at most `window` frames beyond what the receiver has taken,
 * and sends the next ones from inside took(), i.e. from the receiver's own delivery callback.
 */
export class WindowedSource {
  private sent = 0;
  private taken = 0;
  /** performance.now() just before the last send, for latency samples. */
  lastSendAt = 0;

  constructor(
    private readonly peer: WirePeer,
    private readonly frames: readonly Buffer[],
    private readonly window: number,
  ) {}

  start(): void {
    this.topUp();
  }

  /** The receiver took `n` more frames. */
  took(n: number): void {
    this.taken += n;
    this.topUp();
  }

  get inFlight(): number {
    return this.sent - this.taken;
  }

  private topUp(): void {
    const { frames, peer } = this;
    while (this.sent < frames.length && this.sent - this.taken < this.window) {
      this.lastSendAt = performance.now();
      peer.send(frames[this.sent++]!);
    }
  }
}

/** `count` numbered test frames of `size` bytes, sequence 0 upwards on `stream`. */
export function testFrames(opts: { dst: string; src: string; size: number; count: number; stream: number }): Buffer[] {
  return new TrafficGenerator({ dst: opts.dst, src: opts.src, size: opts.size, stream: opts.stream }).take(opts.count);
}

/** Frames cut into batches of at most `batch` (one doorbell / one send call each). */
export function inBatches<T>(frames: readonly T[], batch: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < frames.length; i += batch) out.push(frames.slice(i, i + batch));
  return out;
}
