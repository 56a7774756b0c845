import type { KernelClock } from './clock.ts';
import { CLOCK_TICK_MS } from './timing-checks.ts';

/** KeQueryTimeIncrement: the clock tick in 100-ns units (15.625 ms, Windows' default 64 Hz). */
export const TIME_INCREMENT = CLOCK_TICK_MS * 10_000;

/** KeQueryPerformanceCounter's frequency: 10 MHz, what current Windows reports on x64. */
export const PERFORMANCE_FREQUENCY = 10_000_000n;

/** 1601-01-01 to 1970-01-01 in 100-ns units: system time counts from 1601, the clock's epoch is 1970. */
const EPOCH_1601 = 116_444_736_000_000_000n;

/** Milliseconds to 100-ns units, rounded down. */
function hundredNs(ms: number): bigint {
  return BigInt(Math.floor(Math.max(0, ms) * 10_000));
}

/** The reading as of the last clock tick: the non-precise calls return that, as on Windows. */
function atLastTick(ms: number): number {
  return Math.floor(ms / CLOCK_TICK_MS) * CLOCK_TICK_MS;
}

/**
 * The driver's time readings (KeQuery*), each one reading of the kernel clock (recorded, replayed).
 * Interrupt and system time move once per clock tick unless precise, as on Windows: a driver that
 * times a short interval with KeQueryInterruptTime sees 0 here too.
 */
export const timeReadings = {
  interruptTime: (clock: KernelClock, precise: boolean): bigint => {
    const ms = clock.read();
    return hundredNs(precise ? ms : atLastTick(ms));
  },
  systemTime: (clock: KernelClock, precise: boolean): bigint => {
    const ms = clock.read();
    return EPOCH_1601 + hundredNs(clock.bootMs) + hundredNs(precise ? ms : atLastTick(ms));
  },
  tickCount: (clock: KernelClock): bigint => BigInt(Math.floor(clock.read() / CLOCK_TICK_MS)),
  performanceCounter: (clock: KernelClock): { counter: bigint; frequency: bigint } => ({ counter: hundredNs(clock.read()), frequency: PERFORMANCE_FREQUENCY }),
};
