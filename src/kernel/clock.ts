/**
 * Where the kernel's time comes from: timers, delays, readings, and the decisions it takes on time
 * (the DPC watchdog, Driver Verifier's ISR and synchronize limits, KMDF's drain timeout). Real time
 * by default; a session recording wraps it (timer expirations and over-limit outcomes are logged at
 * their positions, and so are the driver's time readings), a replay replaces it (timers expire and
 * limits are exceeded where the recording says, delays do not wait, the driver reads the recorded
 * times, timestamps are replay time).
 */
export interface KernelClock {
  /** Arms a timer: `fire` after `dueMs`, then every `periodMs` when above 0. Returns the disarm function. */
  arm(name: string, dueMs: number, periodMs: number, fire: () => void): () => void;
  /** Resolves after `ms` (KeDelayExecutionThread, NdisMSleep). */
  delay(ms: number): Promise<void>;
  /** A reading in milliseconds for timestamps (the run's timeline); decisions go through overLimit. */
  now(): number;
  /**
   * A time reading the driver makes (KeQueryInterruptTime, KeQuerySystemTime,
   * KeQueryPerformanceCounter, NdisGetCurrentSystemTime, …): milliseconds since boot. A driver may
   * act on what it reads, so a recording logs each reading and a replay gives them back in order.
   */
  read(): number;
  /** When the machine booted, in milliseconds since the Unix epoch: system time is boot plus a reading. */
  readonly bootMs: number;
  /**
   * A decision on time: check `check` measured `ms` against `limitMs`. Returns the milliseconds to
   * act on when over the limit, else null. Each named check is numbered by its calls, so a replay
   * can give the recorded outcome at the same call whatever its own time says.
   */
  overLimit(check: TimeCheck, ms: number, limitMs: number): number | null;
}

/** The kernel's decisions on time, by the check that takes them (recordings name them). */
export type TimeCheck =
  'watchdog routine' | 'watchdog dispatch' | 'watchdog timer routine' | 'watchdog timer dispatch' | 'verifier isr' | 'verifier synchronize' | 'wdf queue drain';

/** Node's timers, unref'd: kernel timers never keep the host process alive. */
export const realClock: KernelClock = {
  arm(_name, dueMs, periodMs, fire) {
    let handle = setTimeout(() => {
      if (periodMs > 0) {
        handle = setInterval(fire, periodMs);
        handle.unref();
      }
      fire();
    }, dueMs);
    handle.unref();
    return () => {
      clearTimeout(handle);
      clearInterval(handle);
    };
  },
  delay: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
  now: () => performance.now(),
  // The host process's start stands for the machine's boot.
  read: () => performance.now(),
  bootMs: performance.timeOrigin,
  overLimit: (_check, ms, limitMs) => (ms > limitMs ? ms : null),
};
