import type { Kernel } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from './bugcheck.ts';
import { NdisError } from './errors.ts';
import { inRoutine } from './irql-rules.ts';

/**
 * The NDIS_HANDLE checks both facades make before they use a handle a miniport passed in. Each takes
 * the facade's own handle class, so that an NDIS 5 handle given to an NDIS 6 call is as invalid as a
 * stale one.
 */

/** One facade's class for one kind of handle (instanceof tells facades and kinds apart). */
export type HandleClass<T> = abstract new (...args: never[]) => T;

/** A rule broken by driver code is a bug check; by host code (no routine), a thrown NdisError. */
export function ndisViolation(kernel: Kernel, code: number, api: string, message: string, p2 = 0, p3 = 0): never {
  if (inRoutine(kernel)) ndisBugCheck(kernel, code, api, message, p2, p3);
  throw new NdisError(message, { api, violation: code });
}

/** MiniportAdapterHandle: one of this facade's adapters, not halted. P2 the adapter. */
export function checkAdapterHandle<T extends { readonly id: number; readonly name: string; readonly halted: boolean }>(
  kernel: Kernel,
  type: HandleClass<T>,
  adapter: T,
  api: string,
): void {
  if (adapter instanceof type && !adapter.halted) return;
  const known = adapter instanceof type;
  ndisBugCheck(kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${known ? `halted adapter ${adapter.name}` : 'an invalid MiniportAdapterHandle'}`, known ? adapter.id : 0);
}

/** NdisInterruptHandle / NDIS_MINIPORT_INTERRUPT: one of this facade's interrupts, not deregistered. P2 the adapter, P3 the interrupt. */
export function checkInterruptHandle<T extends { readonly id: number; readonly adapter: { readonly id: number }; readonly deregistered: boolean }>(
  kernel: Kernel,
  type: HandleClass<T>,
  handle: T,
  api: string,
  handleType: string,
): void {
  if (handle instanceof type && !handle.deregistered) return;
  const known = handle instanceof type;
  ndisBugCheck(
    kernel,
    NdisViolation.INVALID_HANDLE,
    api,
    `${api} with ${known ? 'a deregistered' : 'an invalid'} ${handleType}`,
    known ? handle.adapter.id : 0,
    known ? handle.id : 0,
  );
}

/** An NBL or packet pool handle: one of this facade's pools, not freed. Host code gets an NdisError. P2 the pool. */
export function checkPoolHandle<T extends { readonly id: number; readonly tag: string; readonly freed: boolean }>(
  kernel: Kernel,
  type: HandleClass<T>,
  pool: T,
  api: string,
): void {
  if (pool instanceof type && !pool.freed) return;
  const known = pool instanceof type;
  ndisViolation(kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${known ? `freed pool ${pool.tag}` : 'an invalid pool handle'}`, known ? pool.id : 0);
}
