import { InvalidArgumentError } from './errors.ts';

/**
 * Small seeded PRNG (mulberry32): the same seed gives the same frame sizes, drops and corruptions
 * on every run, so a failing test can be replayed. Not for cryptography. (The kernel's scheduler has
 * its own generator, SchedulerRandom, whose sequence per seed the recorded schedules depend on.)
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new InvalidArgumentError('PRNG seed must be a finite number', { seed });
    this.state = seed >>> 0;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) {
      throw new InvalidArgumentError(`invalid integer range [${min}, ${max}]`, { min, max });
    }
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/** 32-bit integer hash (finaliser of murmur3): spreads (stream, seq) into a pattern offset. */
export function mix32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}
