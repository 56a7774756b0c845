import { vi } from 'vitest';

/**
 * Waits until `done()` holds, checking every `intervalMs`; on timeout it fails naming what it waited
 * for. For a condition no event announces (a counter, a ring's stats); where an event exists, prefer
 * `events.once(emitter, name, { signal: AbortSignal.timeout(ms) })`.
 */
export async function waitUntil(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 5_000, intervalMs = 2): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!(await done())) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: intervalMs },
  );
}

/**
 * The positive control for "a timer due within `dueMs` from now did not fire": a Node timer set now
 * for `dueMs + 1`. Node runs timers in order of expiry, and kernel timers (KTIMER, and the NDIS and
 * WDF timers built on it) are Node timers, so when this resolves every timer due earlier has had its
 * callback. Follow it with `kernel.quiesce()` so a DPC such a timer queued has run too.
 */
export function timersDueBy(dueMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, dueMs + 1));
}
