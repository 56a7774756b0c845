import { isMainThread } from 'node:worker_threads';
import { RingUsageError } from './errors.ts';

type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };

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

/**
 * One side's view of the other side's position word, for sleeping until it has enough: the
 * producer waits on HEAD for free slots, the consumer on TAIL for ready frames.
 */
export interface WatchedPosition {
  readonly header: Int32Array;
  /** The other side's position word (W.HEAD or W.TAIL). */
  readonly word: number;
  /** Where this side says how many it waits for (W.PRODUCER_WAITING or W.CONSUMER_WAITING). */
  readonly waitingFlag: number;
  /** How many it has now (slots free or frames ready), refreshing its cached copy of the word. */
  amount(): number;
  /** How many it would have were the word `position`. */
  amountAt(position: number): number;
  /** This side gave up its role: a wait ends (false). */
  closed(): boolean;
}

/** Resolve true once `amount()` reaches `min`, or false after timeoutMs or once the side is closed. For the main thread. */
export async function waitForAmount(watched: WatchedPosition, min: number, timeoutMs: number): Promise<boolean> {
  const { header, word, waitingFlag } = watched;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (watched.closed()) return false;
    if (watched.amount() >= min) return true;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    Atomics.store(header, waitingFlag, min);
    try {
      // Dekker-style: flag stored, then the word re-read; the other side stores the word, then reads the flag.
      const position = Atomics.load(header, word);
      if (watched.amountAt(position) >= min) return true;
      await waitWordAsync(header, word, position, remaining);
    } finally {
      Atomics.store(header, waitingFlag, 0);
    }
  }
}

/** Blocking waitForAmount for worker threads (Atomics.wait); `operation` names the caller in the refusal. */
export function waitForAmountSync(watched: WatchedPosition, min: number, timeoutMs: number, operation: string): boolean {
  const { header, word, waitingFlag } = watched;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (watched.closed()) return false;
    if (watched.amount() >= min) return true;
    const remaining = deadline - performance.now();
    if (remaining <= 0) return false;
    Atomics.store(header, waitingFlag, min);
    try {
      const position = Atomics.load(header, word);
      if (watched.amountAt(position) >= min) return true;
      waitWordSync(header, word, position, remaining, operation);
    } finally {
      Atomics.store(header, waitingFlag, 0);
    }
  }
}
