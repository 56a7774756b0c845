import { ETHERTYPE_LOCAL_EXPERIMENTAL } from '../util/ethernet.ts';
import { SeededRandom } from '../util/seeded-random.ts';
import { buildWithMacs, checkTestLength, macBytes, type MacAddress } from './format.ts';

/**
 * Frame sizes for a generator: a fixed length, 'mixed' (uniform 60..1514, seeded),
 * a uniform range, or a function of the sequence number.
 */
export type FrameSizeSpec = number | 'mixed' | { min: number; max: number } | ((seq: number, random: SeededRandom) => number);

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
