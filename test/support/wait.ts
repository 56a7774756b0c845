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
