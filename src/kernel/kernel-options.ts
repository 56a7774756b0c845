import type { DeviceLossMonitor } from './bugcheck.ts';
import type { KernelClock } from './clock.ts';
import type { InterruptLineSource } from './lines.ts';
import type { SchedulePolicy } from './schedule-policy.ts';
import type { ChoiceSource } from './scheduler.ts';
import type { TraceBuffer } from './trace.ts';
import type { VerifierOptions } from './verifier.ts';

export interface KernelLimits {
  /**
   * DPC_WATCHDOG_VIOLATION (0x133, P1=0) when one DPC or ISR runs longer. Default Windows' 20 000 ms
   * (KeQueryDpcWatchdogInformation's DpcTimeLimit: 1280 clock ticks), or the verifier's.
   */
  dpcTimeLimitMs?: number;
  /**
   * DPC_WATCHDOG_VIOLATION (0x133, P1=1) when a processor stays at DISPATCH_LEVEL or above longer.
   * Default Windows' 120 000 ms (DpcWatchdogLimit: 7680 ticks), or the verifier's.
   */
  dispatchTimeLimitMs?: number;
  /** HARDWARE_INTERRUPT_STORM (0xF2) after this many rounds in which no ISR recognised a still-asserted line. Default 1000. */
  interruptStormThreshold?: number;
  /** Trace events included in a bug check report. Default 64. */
  traceTail?: number;
}

export interface KernelOptions {
  /** Logical processors. Default 1. */
  processors?: number;
  /** Seed of the scheduler's choices when there are several processors. Default 1. */
  seed?: number;
  /**
   * Who makes the scheduling decisions (when to deliver a pending interrupt, which runnable
   * activation runs next, which processor takes a line): the interleaving explorer. Absent: deliver
   * at once, the seeded PRNG picks.
   */
  schedule?: SchedulePolicy;
  /** Timers and delays (absent: Node's timers); a session recording and a replay give their own. */
  clock?: KernelClock;
  /** The seeded scheduler's choices (several processors): default SchedulerRandom(seed); a recording wraps it, a replay repeats the recorded ones. */
  choices?: ChoiceSource;
  lines?: InterruptLineSource;
  /** Enables the verifier's timing checks (absent: off). */
  verifier?: VerifierOptions;
  /** Where bug check reports go. Default ./crash-reports. */
  bugCheckDir?: string;
  trace?: TraceBuffer;
  limits?: KernelLimits;
  /** Tells "the device went away" from a driver fault (absent: every escaping error is the driver's). */
  deviceLoss?: DeviceLossMonitor;
}

/** The limits a kernel runs with: the given ones, the defaults for the rest. */
export function limitsWithDefaults(limits: KernelLimits = {}, verifier?: VerifierOptions): Readonly<Required<KernelLimits>> {
  return {
    dpcTimeLimitMs: limits.dpcTimeLimitMs ?? verifier?.dpcTimeLimitMs ?? 20_000,
    dispatchTimeLimitMs: limits.dispatchTimeLimitMs ?? verifier?.dispatchTimeLimitMs ?? 120_000,
    interruptStormThreshold: limits.interruptStormThreshold ?? 1000,
    traceTail: limits.traceTail ?? 64,
  };
}
