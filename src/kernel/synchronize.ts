import type { Activation } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import type { InterruptObject } from './interrupt.ts';
import { Irql, isValidIrql } from './irql.ts';
import { setIrql } from './irql-control.ts';
import { checkLockOwner, checkLockRecursion, releaseLock, takeLock } from './locks.ts';
import { isThenable } from './thenable.ts';
import { verifierCheck } from './timing-checks.ts';

// Synchronizing with an ISR: KeSynchronizeExecution and the explicit interrupt-lock forms, for the
// Kernel methods of the same names.

/**
 * KeSynchronizeExecution (NdisMSynchronizeWithInterruptEx, WdfInterruptSynchronize): raise to the
 * interrupt's synchronize IRQL, take its spin lock (spinning while an ISR holds it on another
 * processor), run the callback, release, restore the caller's IRQL, return the callback's boolean.
 * For a passive-level interrupt: at PASSIVE_LEVEL under the passive-level interrupt lock.
 */
export async function synchronizeExecution(
  k: KernelCore,
  interrupt: InterruptObject,
  callback: (context: unknown) => boolean | Promise<boolean>,
  context: unknown,
): Promise<boolean> {
  const api = 'KeSynchronizeExecution';
  const act = k.activationFor(api);
  requireConnected(k, act, interrupt, api);
  const name = callback.name || 'SynchronizeRoutine';
  if (interrupt.passive) k.requireIrql(api, Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
  else k.requireIrql(api, Irql.PASSIVE_LEVEL, interrupt.synchronizeIrql);
  const entry = k.preempt(act, false);
  if (entry) await entry;
  const old = act.irql;
  let result: boolean;
  try {
    if (interrupt.synchronizeIrql > old) setIrql(k, act, interrupt.synchronizeIrql);
    const expected = act.irql;
    const locking = acquireInterruptLockFor(k, act, interrupt);
    if (locking) await locking;
    const start = performance.now();
    const rec = { name, irql: act.irql, since: start };
    act.routines.push(rec);
    if (k.observer) k.observer.routineEntered(act, 'synchronize', rec);
    try {
      const r = callback(context);
      result = (isThenable(r) ? await r : r) === true;
    } finally {
      const i = act.routines.lastIndexOf(rec);
      if (i > 0) act.routines.splice(i, 1);
      if (k.observer) k.observer.routineReturned(act, rec);
      if (interrupt.lock.owner === act) releaseLock(k, interrupt.lock);
    }
    if (act.irql !== expected) {
      k.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (expected << 8) | 2, interrupt.id, 0, 0, {
        api,
        message: `synchronize routine ${name} returned at IRQL ${act.irql} instead of ${expected}`,
      });
    }
    verifierCheck(k, 'synchronize', name, (performance.now() - start) * 1000, act, interrupt.id);
  } finally {
    if (!k.stopped && act.irql !== old) setIrql(k, act, old);
  }
  const p = k.preempt(act, true);
  if (p) await p;
  return result;
}

/**
 * The interrupt object of a disconnected interrupt is gone (IoDisconnectInterruptEx frees it):
 * synchronizing with it, or taking its lock, uses freed memory. Windows has no check of its own
 * for that and runs on corrupted state, so dirql stops there (0xC4 / 0xE004).
 */
function requireConnected(k: KernelCore, act: Activation, interrupt: InterruptObject, api: string): void {
  if (!interrupt.disconnected) return;
  k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.INTERRUPT_USED_AFTER_DISCONNECT, act.irql, interrupt.id, 0, {
    api,
    message: `${api} on ${interrupt.name}, which was disconnected (IoDisconnectInterruptEx): the interrupt object no longer exists`,
  });
}

/** KeAcquireInterruptSpinLock: returns the old IRQL. A passive-level interrupt has no spin lock (0x13B). */
export async function acquireInterruptSpinLock(k: KernelCore, interrupt: InterruptObject): Promise<number> {
  const api = 'KeAcquireInterruptSpinLock';
  const act = k.activationFor(api);
  requireConnected(k, act, interrupt, api);
  if (interrupt.passive) {
    k.bugCheck(BugCheckCode.PASSIVE_INTERRUPT_ERROR, 1, interrupt.id, 0, 0, {
      api,
      message: `${api} on ${interrupt.name}, a passive-level interrupt: use its passive-level lock (acquireInterruptLock)`,
    });
  }
  k.requireIrql(api, Irql.PASSIVE_LEVEL, interrupt.synchronizeIrql);
  const old = act.irql;
  setIrql(k, act, interrupt.synchronizeIrql);
  const locking = acquireInterruptLockFor(k, act, interrupt);
  if (locking) await locking;
  return old;
}

/** KeReleaseInterruptSpinLock: a preemption point, like every IRQL lowering (KernelCore.irqlLowered). */
export function releaseInterruptSpinLock(k: KernelCore, interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
  const api = 'KeReleaseInterruptSpinLock';
  const act = k.activationFor(api);
  checkLockOwner(k, act, interrupt.lock, api);
  if (!isValidIrql(oldIrql) || oldIrql > act.irql) {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.LOWER_IRQL_INVALID, act.irql, oldIrql, 0, {
      api,
      message: `${api} given old IRQL ${oldIrql}, above the current ${act.irql}`,
    });
  }
  releaseLock(k, interrupt.lock);
  if (oldIrql === act.irql) return undefined;
  setIrql(k, act, oldIrql, false);
  return k.irqlLowered(act);
}

/** WdfInterruptAcquireLock: the interrupt spin lock, or the passive-level lock of a passive interrupt. */
export function acquireInterruptLock(k: KernelCore, interrupt: InterruptObject): Promise<number> {
  if (!interrupt.passive) return acquireInterruptSpinLock(k, interrupt);
  const act = k.activationFor('WdfInterruptAcquireLock');
  requireConnected(k, act, interrupt, 'WdfInterruptAcquireLock');
  k.requireIrql('WdfInterruptAcquireLock', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
  const locking = acquireInterruptLockFor(k, act, interrupt);
  return locking ? locking.then(() => Irql.PASSIVE_LEVEL) : Promise.resolve(Irql.PASSIVE_LEVEL);
}

/** WdfInterruptReleaseLock: a preemption point where it lowers the IRQL (not for a passive-level interrupt). */
export function releaseInterruptLock(k: KernelCore, interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
  if (!interrupt.passive) return releaseInterruptSpinLock(k, interrupt, oldIrql);
  const act = k.activationFor('WdfInterruptReleaseLock');
  checkLockOwner(k, act, interrupt.lock, 'WdfInterruptReleaseLock');
  releaseLock(k, interrupt.lock);
  return undefined;
}

/**
 * Take an interrupt's lock at the caller's current IRQL (the interrupt dispatcher, synchronize).
 * Undefined when it was free (taken at once), else a promise that spins for it.
 */
export function acquireInterruptLockFor(k: KernelCore, act: Activation, interrupt: InterruptObject): Promise<void> | undefined {
  checkLockRecursion(k, act, interrupt.lock, 'interrupt lock');
  return takeLock(k, act, interrupt.lock);
}
