import { WdfStatusError } from './errors.ts';
import { NtStatus, type NTSTATUS } from './ntstatus.ts';
import type { StatusResult } from './types.ts';

/**
 * Call a driver callback that returns NTSTATUS in C: nothing means STATUS_SUCCESS, and a
 * WdfStatusError that escaped (a failed WDF method the driver did not catch) means its status.
 * Anything else propagates (and becomes a bug check in the routine that runs it).
 */
export async function callStatus(fn: () => StatusResult): Promise<NTSTATUS> {
  try {
    const r = await fn();
    return typeof r === 'number' ? r | 0 : NtStatus.STATUS_SUCCESS;
  } catch (err) {
    if (err instanceof WdfStatusError) return err.status;
    throw err;
  }
}

/** Give a function a name: the kernel shows routine names in its chain of routines and reports. */
export function namedFunction<F extends (...args: never[]) => unknown>(name: string, fn: F): F {
  Object.defineProperty(fn, 'name', { value: name });
  return fn;
}
