import type { KernelCore } from './core.ts';
import { KernelError } from './errors.ts';
import { Irql } from './irql.ts';

// Waiting and stalling, for the Kernel methods of the same names.

/**
 * KeWaitForSingleObject on anything, for `kernel.wait`: a thread (<= APC_LEVEL) gives up its
 * processor while `promise` is pending and resumes through the scheduler.
 */
export async function wait<T>(k: KernelCore, promise: Promise<T>, what: string): Promise<T> {
  const act = k.current();
  if (!act || act.ended) return promise;
  k.requireIrql('KeWaitForSingleObject', Irql.PASSIVE_LEVEL, Irql.APC_LEVEL);
  act.state = `waiting for ${what}`;
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await promise };
  } catch (error) {
    outcome = { ok: false, error };
  } finally {
    act.state = undefined;
  }
  const p = k.preempt(act, true);
  if (p) await p;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * KeStallExecutionProcessor, for `kernel.stallExecutionProcessor`: busy-waits holding the processor
 * (any IRQL); a preemption point before and after. Up to 100 µs it really spins; longer stalls sleep
 * (other processors run, interrupts may nest) but keep the processor, and never return early.
 */
export async function stallExecutionProcessor(k: KernelCore, microseconds: number): Promise<void> {
  const act = k.activationFor('KeStallExecutionProcessor');
  if (!(microseconds >= 0)) throw new KernelError(`stall of ${microseconds} µs`, { routine: act.routine });
  const before = k.preempt(act, false);
  if (before) await before;
  act.state = `stalling ${microseconds} us`;
  const end = performance.now() + microseconds / 1000;
  if (microseconds > 100) await new Promise<void>((r) => setTimeout(r, Math.floor(microseconds / 1000)));
  while (performance.now() < end) {
    /* the processor is stalled; timers may fire a little early */
  }
  act.state = undefined;
  const after = k.preempt(act, true);
  if (after) await after;
}
