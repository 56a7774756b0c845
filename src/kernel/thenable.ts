/**
 * What `await` would treat as a promise. Hot paths test for it before awaiting a routine's result:
 * awaiting a plain value still costs a microtask turn and, with AsyncLocalStorage active, promise
 * hook calls, for nothing.
 */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** Returned by fast paths that have nothing to wait for: awaiting it makes no new promise of ours. */
export const RESOLVED: Promise<void> = Promise.resolve();
