import type { Activation } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { Irql } from './irql.ts';

// Ownership rules shared by every kernel lock (a driver's SpinLock, an interrupt object's lock):
// who may take it, who may release it, and spinning for it on another processor.

/** What every kernel lock has: the spin lock of a driver, the spin lock of an interrupt object. */
export interface KernelLock {
  readonly id: number;
  readonly name: string;
  owner: Activation | null;
  /** Where it was acquired (verifier: captureLockStacks). */
  ownerStack: string | undefined;
}

/**
 * A lock's id (a bug check's P3, as the lock's address is on Windows): numbered per kernel, so the
 * same session gives the same ids whatever kernels came before it in the process (a replay, the
 * explorer's earlier runs).
 */
export function newLockId(k: KernelCore): number {
  return k.nextLockId++;
}

/**
 * A lock taken again where it is held: by `act`, or by another routine at DISPATCH_LEVEL or above on
 * its processor. Windows spins there forever (0xF SPIN_LOCK_ALREADY_OWNED only on checked kernels);
 * Driver Verifier's deadlock detection reports it as 0xC4 / 0x1000, and so does dirql.
 */
export function checkLockRecursion(k: KernelCore, act: Activation, lock: KernelLock, api: string): void {
  const owner = lock.owner;
  if (!owner) return;
  const sameProcessorSpin = act.irql >= Irql.DISPATCH_LEVEL && owner.processor === act.processor;
  if (owner === act || sameProcessorSpin) {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.DEADLOCK_SELF, lock.id, 0, 0, {
      api,
      message: `${lock.name} acquired again on processor ${act.processor.index} by ${act.routine}; it is already held by ${owner.routine} there (this deadlocks)`,
      stacks: lock.ownerStack ? [{ label: `${lock.name} was acquired at`, stack: lock.ownerStack }] : [],
    });
  }
}

/**
 * Unless `act` holds `lock`: Driver Verifier's deadlock detection, 0xC4 / 0x1004 (released by
 * another routine than its owner; P3 the owner, P4 the releaser) or 0x1007 (released, never acquired).
 */
export function checkLockOwner(k: KernelCore, act: Activation, lock: KernelLock, api: string): void {
  if (lock.owner === act) return;
  const held = lock.owner !== null;
  k.bugCheck(
    BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION,
    held ? VerifierViolation.DEADLOCK_UNEXPECTED_THREAD : VerifierViolation.DEADLOCK_UNACQUIRED_RELEASE,
    lock.id,
    lock.owner?.id ?? 0,
    held ? act.id : 0,
    {
      api,
      message: lock.owner
        ? `${act.routine} released ${lock.name}, which is held by ${lock.owner.routine} on processor ${lock.owner.processor.index}`
        : `${act.routine} released ${lock.name}, which is not held`,
      stacks: lock.ownerStack ? [{ label: `${lock.name} was acquired at`, stack: lock.ownerStack }] : [],
    },
  );
}

/** Take `lock` for `act`: at once when it is free (undefined), else a promise that spins for it. */
export function takeLock(k: KernelCore, act: Activation, lock: KernelLock): Promise<void> | undefined {
  if (lock.owner !== null) return k.preemption.spinUntil(act, () => lock.owner === null, `spinning on ${lock.name}`).then(() => grantLock(k, act, lock));
  grantLock(k, act, lock);
  return undefined;
}

function grantLock(k: KernelCore, act: Activation, lock: KernelLock): void {
  lock.owner = act;
  if (k.lockset !== null) act.heldLocks.push(lock);
  lock.ownerStack = k.verifier.captureLockStacks ? new Error().stack : undefined;
  if (k.observer) k.observer.lockAcquired(act, lock);
}

export function releaseLock(k: KernelCore, lock: KernelLock): void {
  if (k.observer) k.observer.lockReleased(lock, lock.owner);
  if (k.lockset !== null && lock.owner) {
    const held = lock.owner.heldLocks;
    const i = held.lastIndexOf(lock);
    if (i >= 0) held.splice(i, 1);
  }
  lock.owner = null;
  lock.ownerStack = undefined;
  k.scheduler.wake();
}
