import { isMainThread } from 'node:worker_threads';
import { RingUsageError } from './errors.ts';

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

// Node 20 has Atomics.waitAsync; TypeScript's ES2023 lib does not declare it.
const atomicsWaitAsync = (
  Atomics as unknown as {
    waitAsync?: (array: Int32Array, index: number, value: number, timeout?: number) => WaitAsyncResult;
  }
).waitAsync;

/**
 * Sleep until header[word] is no longer `expected`, a notify, or the timeout. Never blocks the
 * event loop. Resolves without saying why: callers re-check the ring itself.
 */
export async function waitWordAsync(header: Int32Array, word: number, expected: number, timeoutMs: number): Promise<void> {
  if (atomicsWaitAsync === undefined) {
    throw new RingUsageError('Atomics.waitAsync is not available in this runtime', { runtime: process.version });
  }
  const result = atomicsWaitAsync(header, word, expected, timeoutMs);
  if (result.async) await result.value;
}

/** Blocking variant for worker threads; refused on the main thread, whose event loop it would stall. */
export function waitWordSync(header: Int32Array, word: number, expected: number, timeoutMs: number, operation: string): void {
  if (isMainThread) {
    throw new RingUsageError(`${operation} blocks the thread: use the async variant on the main thread`, {
      operation,
    });
  }
  Atomics.wait(header, word, expected, timeoutMs);
}
