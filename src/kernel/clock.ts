/**
 * Where kernel timers and delays get their time. Real timers by default; a session recording wraps
 * them (each expiration is logged at its position), a replay replaces them (timers expire where the
 * recording says, delays do not wait).
 */
export interface KernelClock {
  /** Arms a timer: `fire` after `dueMs`, then every `periodMs` when above 0. Returns the disarm function. */
  arm(name: string, dueMs: number, periodMs: number, fire: () => void): () => void;
  /** Resolves after `ms` (KeDelayExecutionThread, NdisMSleep). */
  delay(ms: number): Promise<void>;
}

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
};
