import { crc32 } from './crc32.ts';
import { HarnessConfigError } from './errors.ts';
import {
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_LOCAL_EXPERIMENTAL,
  MAX_JUMBO_FRAME_LENGTH,
  macBytes,
  type MacAddress,
} from './ethernet.ts';
import { SeededRandom, mix32 } from './prng.ts';

/*
 * Test frame layout (network byte order), after the 14-byte Ethernet header:
 *   +0  u32 magic 'DQLT'          +4  u8 version (1)   +5 u8 flags (0)   +6 u16 stream id
 *   +8  u32 sequence number       +12 u16 frame length (bytes the sender wrote, without padding/FCS)
 *   +14 u16 reserved (0)          +16 u32 CRC-32 of header bytes +0..+15
 *   +20 u32 CRC-32 of frame[0, length) skipping this field
 *   +24 payload: bytes of a fixed pseudo-random tape starting at an offset derived from (stream, seq)
 * The separate header CRC lets the verifier trust (stream, seq) of a frame whose payload is damaged,
 * so such a frame counts as corrupted and not also as lost. The length field lets it ignore NIC
 * padding (short frames padded to 60) and a trailing FCS (e1000 without RCTL.SECRC).
 */
export const TEST_FRAME_MAGIC = 0x44514c54;
export const TEST_FRAME_VERSION = 1;
export const TEST_HEADER_LENGTH = 24;
/** Shortest test frame: Ethernet header + test header, no payload. */
export const MIN_TEST_FRAME_LENGTH = ETHERNET_HEADER_LENGTH + TEST_HEADER_LENGTH;
/** Longest test frame the generator builds (the jumbo limit). */
export const MAX_TEST_FRAME_LENGTH = MAX_JUMBO_FRAME_LENGTH;

const H = ETHERNET_HEADER_LENGTH;
const OFF_MAGIC = H;
const OFF_VERSION = H + 4;
const OFF_FLAGS = H + 5;
const OFF_STREAM = H + 6;
const OFF_SEQ = H + 8;
const OFF_LENGTH = H + 12;
const OFF_RESERVED = H + 14;
const OFF_HEADER_CRC = H + 16;
const OFF_FRAME_CRC = H + 20;
const OFF_PAYLOAD = H + TEST_HEADER_LENGTH;

const TAPE_WINDOW = 0x10000;
/** Payload source: fixed, so sender and receiver derive the same bytes from (stream, seq) alone. */
const PATTERN_TAPE: Buffer = (() => {
  const rnd = new SeededRandom(TEST_FRAME_MAGIC);
  const tape = Buffer.allocUnsafe((TAPE_WINDOW + MAX_TEST_FRAME_LENGTH + 3) & ~3);
  for (let i = 0; i < tape.length; i += 4) tape.writeUInt32LE(rnd.nextU32(), i);
  return tape;
})();

function patternOffset(stream: number, seq: number): number {
  return mix32(seq ^ Math.imul(stream + 1, 0x9e3779b9)) & (TAPE_WINDOW - 1);
}

/** The payload bytes a test frame (stream, seq) carries from TEST_HEADER end on. */
export function expectedPayload(stream: number, seq: number, payloadLength: number): Buffer {
  const start = patternOffset(stream, seq);
  return PATTERN_TAPE.subarray(start, start + payloadLength);
}

function frameCrc(frame: Uint8Array, length: number): number {
  const before = crc32(frame.subarray(0, OFF_FRAME_CRC));
  return crc32(frame.subarray(OFF_FRAME_CRC + 4, length), before);
}

export interface TestFrameFields {
  dst: MacAddress;
  src: MacAddress;
  /** Default ETHERTYPE_LOCAL_EXPERIMENTAL (0x88B5). */
  etherType?: number;
  stream: number;
  seq: number;
  /** Total frame length without FCS, MIN_TEST_FRAME_LENGTH..MAX_TEST_FRAME_LENGTH. */
  length: number;
}

function checkTestLength(length: number): void {
  if (!Number.isInteger(length) || length < MIN_TEST_FRAME_LENGTH || length > MAX_TEST_FRAME_LENGTH) {
    throw new HarnessConfigError(
      `test frame length ${length} outside ${MIN_TEST_FRAME_LENGTH}..${MAX_TEST_FRAME_LENGTH}`,
      { length, min: MIN_TEST_FRAME_LENGTH, max: MAX_TEST_FRAME_LENGTH },
    );
  }
}

/** Build one self-verifying test frame. */
export function buildTestFrame(fields: TestFrameFields): Buffer {
  return buildWithMacs(macBytes(fields.dst), macBytes(fields.src), fields);
}

function buildWithMacs(dst: Buffer, src: Buffer, f: Omit<TestFrameFields, 'dst' | 'src'>): Buffer {
  checkTestLength(f.length);
  const etherType = f.etherType ?? ETHERTYPE_LOCAL_EXPERIMENTAL;
  if (!Number.isInteger(f.stream) || f.stream < 0 || f.stream > 0xffff) {
    throw new HarnessConfigError('stream id must be 0..65535', { stream: f.stream });
  }
  const frame = Buffer.allocUnsafe(f.length);
  dst.copy(frame, 0);
  src.copy(frame, 6);
  frame.writeUInt16BE(etherType, 12);
  frame.writeUInt32BE(TEST_FRAME_MAGIC, OFF_MAGIC);
  frame[OFF_VERSION] = TEST_FRAME_VERSION;
  frame[OFF_FLAGS] = 0;
  frame.writeUInt16BE(f.stream, OFF_STREAM);
  frame.writeUInt32BE(f.seq >>> 0, OFF_SEQ);
  frame.writeUInt16BE(f.length, OFF_LENGTH);
  frame.writeUInt16BE(0, OFF_RESERVED);
  frame.writeUInt32BE(crc32(frame.subarray(OFF_MAGIC, OFF_HEADER_CRC)), OFF_HEADER_CRC);
  expectedPayload(f.stream, f.seq >>> 0, f.length - OFF_PAYLOAD).copy(frame, OFF_PAYLOAD);
  frame.writeUInt32BE(frameCrc(frame, f.length), OFF_FRAME_CRC);
  return frame;
}

/** What a received frame is, judged from its bytes alone. */
export type ParsedTestFrame =
  | { kind: 'foreign' }
  /** Ours (EtherType and magic match) but the header CRC fails: stream and seq cannot be trusted. */
  | { kind: 'damaged-header' }
  /** Header trustworthy; `intact` says whether length, CRC and payload pattern also check out. */
  | { kind: 'test'; stream: number; seq: number; length: number; intact: boolean };

/** Classify a frame; trailing bytes beyond the header's length (padding, FCS) are ignored. */
export function parseTestFrame(frame: Uint8Array, etherType = ETHERTYPE_LOCAL_EXPERIMENTAL): ParsedTestFrame {
  if (frame.length < MIN_TEST_FRAME_LENGTH) return { kind: 'foreign' };
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.length);
  if (buf.readUInt16BE(12) !== etherType || buf.readUInt32BE(OFF_MAGIC) !== TEST_FRAME_MAGIC) {
    return { kind: 'foreign' };
  }
  if (crc32(buf.subarray(OFF_MAGIC, OFF_HEADER_CRC)) !== buf.readUInt32BE(OFF_HEADER_CRC)) {
    return { kind: 'damaged-header' };
  }
  if (buf[OFF_VERSION] !== TEST_FRAME_VERSION) return { kind: 'foreign' };
  const stream = buf.readUInt16BE(OFF_STREAM);
  const seq = buf.readUInt32BE(OFF_SEQ);
  const length = buf.readUInt16BE(OFF_LENGTH);
  const intact =
    length >= MIN_TEST_FRAME_LENGTH &&
    length <= buf.length &&
    frameCrc(buf, length) === buf.readUInt32BE(OFF_FRAME_CRC) &&
    expectedPayload(stream, seq, length - OFF_PAYLOAD).equals(buf.subarray(OFF_PAYLOAD, length));
  return { kind: 'test', stream, seq, length, intact };
}

/**
 * Frame sizes for a generator: a fixed length, 'mixed' (uniform 60..1514, seeded),
 * a uniform range, or a function of the sequence number.
 */
export type FrameSizeSpec =
  | number
  | 'mixed'
  | { min: number; max: number }
  | ((seq: number, random: SeededRandom) => number);

export const MIXED_MIN_LENGTH = 60;
export const MIXED_MAX_LENGTH = 1514;

export interface TrafficOptions {
  /** Default 52:54:00:12:34:56, the MAC the host gives the e1000. */
  dst?: MacAddress;
  /** Default 02:00:00:00:00:01 (locally administered). */
  src?: MacAddress;
  etherType?: number;
  stream?: number;
  startSeq?: number;
  size?: FrameSizeSpec;
  /** Seeds the size PRNG. Default 1. */
  seed?: number;
}

export const DEFAULT_NIC_MAC = '52:54:00:12:34:56';
export const DEFAULT_PEER_MAC = '02:00:00:00:00:01';

/** An endless numbered stream of test frames for one stream id. */
export class TrafficGenerator {
  readonly stream: number;
  private seq: number;
  private readonly dst: Buffer;
  private readonly src: Buffer;
  private readonly etherType: number;
  private readonly random: SeededRandom;
  private readonly sizeOf: (seq: number) => number;

  constructor(options: TrafficOptions = {}) {
    this.dst = macBytes(options.dst ?? DEFAULT_NIC_MAC);
    this.src = macBytes(options.src ?? DEFAULT_PEER_MAC);
    this.etherType = options.etherType ?? ETHERTYPE_LOCAL_EXPERIMENTAL;
    this.stream = options.stream ?? 0;
    this.seq = (options.startSeq ?? 0) >>> 0;
    this.random = new SeededRandom(options.seed ?? 1);
    this.sizeOf = this.sizeFunction(options.size ?? 'mixed');
    if (typeof options.size === 'number') checkTestLength(options.size);
  }

  private sizeFunction(spec: FrameSizeSpec): (seq: number) => number {
    if (typeof spec === 'number') return () => spec;
    if (spec === 'mixed') return () => this.random.int(MIXED_MIN_LENGTH, MIXED_MAX_LENGTH);
    if (typeof spec === 'function') return (seq) => spec(seq, this.random);
    checkTestLength(spec.min);
    checkTestLength(spec.max);
    return () => this.random.int(spec.min, spec.max);
  }

  /** Sequence number the next frame will carry. */
  get nextSeq(): number {
    return this.seq;
  }

  next(): Buffer {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    return buildWithMacs(this.dst, this.src, {
      etherType: this.etherType,
      stream: this.stream,
      seq,
      length: this.sizeOf(seq),
    });
  }

  take(count: number): Buffer[] {
    const frames: Buffer[] = [];
    for (let i = 0; i < count; i++) frames.push(this.next());
    return frames;
  }
}

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
