import { Irql, isValidIrql } from './irql.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { Activation } from './activation.ts';
import { kernelInternals, type KernelCore } from './core.ts';
import { setIrql } from './irql-control.ts';
import type { Kernel } from './kernel.ts';
import { checkLockOwner, checkLockRecursion, newLockId, releaseLock, takeLock, type KernelLock } from './locks.ts';
import { RESOLVED } from './thenable.ts';

/**
 * KSPIN_LOCK. acquire() raises to DISPATCH_LEVEL and returns the old IRQL; on several processors
 * the second acquirer spins (parks at DISPATCH_LEVEL, still taking interrupts) until it is released.
 * Acquire is async because spinning must let the owner's processor run.
 */
export class SpinLock implements KernelLock {
  readonly id: number;
  readonly name: string;
  owner: Activation | null = null;
  ownerStack: string | undefined;
  private readonly kernel: KernelCore;

  /** KeInitializeSpinLock. */
  constructor(kernel: Kernel, name?: string) {
    this.kernel = kernelInternals(kernel);
    this.id = newLockId(this.kernel);
    this.name = name ?? `SpinLock#${this.id}`;
  }

  /** KeAcquireSpinLock: IRQL <= DISPATCH_LEVEL; returns the IRQL to pass to release(). */
  acquire(api = 'KeAcquireSpinLock'): Promise<number> {
    try {
      const r = this.acquireOrSpin(api);
      return typeof r === 'number' ? Promise.resolve(r) : r;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * KeAcquireSpinLock for facades on the hot path: the old IRQL at once when the lock was free (no
   * promise made), else a promise of it that settles once this processor has spun for the lock.
   * Misuse throws the bug check synchronously.
   */
  acquireOrSpin(api = 'KeAcquireSpinLock'): number | Promise<number> {
    const k = this.kernel;
    const act = k.activationFor(api);
    if (act.irql > Irql.DISPATCH_LEVEL) {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.ACQUIRE_SPIN_LOCK_ABOVE_DISPATCH, act.irql, this.id, 0, {
        api,
        message: `${this.call(api, 'KeAcquireSpinLock')} called at IRQL ${act.irql}, above DISPATCH_LEVEL`,
      });
    }
    checkLockRecursion(k, act, this, api);
    const old = act.irql;
    setIrql(k, act, Irql.DISPATCH_LEVEL);
    const spinning = takeLock(k, act, this);
    return spinning ? spinning.then(() => old) : old;
  }

  /** KeAcquireSpinLockAtDpcLevel: the caller is already at DISPATCH_LEVEL or above. */
  acquireAtDpcLevel(): Promise<void> {
    try {
      return this.acquireAtDpcLevelOrSpin() ?? RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** KeAcquireSpinLockAtDpcLevel for facades: undefined when taken at once, else a promise that spins. */
  acquireAtDpcLevelOrSpin(api = 'KeAcquireSpinLockAtDpcLevel'): Promise<void> | undefined {
    const k = this.kernel;
    const act = k.activationFor(api);
    if (act.irql < Irql.DISPATCH_LEVEL) {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.ACQUIRE_SPIN_LOCK_AT_DPC_LEVEL_BELOW_DISPATCH, act.irql, this.id, 0, {
        api,
        message: `${this.call(api, 'KeAcquireSpinLockAtDpcLevel')} called at IRQL ${act.irql}, below DISPATCH_LEVEL`,
      });
    }
    checkLockRecursion(k, act, this, api);
    return takeLock(k, act, this);
  }

  /**
   * KeReleaseSpinLock: the caller must be at DISPATCH_LEVEL and own the lock; restores `oldIrql`.
   * Lowering the IRQL is a preemption point: an interrupt or DPC that became deliverable runs
   * before it returns. Await it (undefined when the IRQL did not change or nothing was pending).
   */
  release(oldIrql: number, api = 'KeReleaseSpinLock'): Promise<void> | undefined {
    const k = this.kernel;
    const act = k.activationFor(api);
    if (act.irql !== Irql.DISPATCH_LEVEL) {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.RELEASE_SPIN_LOCK_NOT_AT_DISPATCH, act.irql, this.id, 0, {
        api,
        message: `${this.call(api, 'KeReleaseSpinLock')} called at IRQL ${act.irql}; it must be called at DISPATCH_LEVEL (double release, or IRQL changed while holding it)`,
      });
    }
    checkLockOwner(k, act, this, api);
    if (!isValidIrql(oldIrql) || oldIrql > Irql.DISPATCH_LEVEL) {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.LOWER_IRQL_INVALID, act.irql, oldIrql, 0, {
        api,
        message: `${this.call(api, 'KeReleaseSpinLock')} given old IRQL ${oldIrql}, which is not an IRQL returned by KeAcquireSpinLock`,
      });
    }
    releaseLock(k, this);
    if (oldIrql === act.irql) return undefined;
    setIrql(k, act, oldIrql, false);
    return k.irqlLowered(act);
  }

  /** KeReleaseSpinLockFromDpcLevel: stays at the current IRQL. */
  releaseFromDpcLevel(api = 'KeReleaseSpinLockFromDpcLevel'): void {
    const k = this.kernel;
    const act = k.activationFor(api);
    if (act.irql < Irql.DISPATCH_LEVEL) {
      k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.RELEASE_SPIN_LOCK_FROM_DPC_LEVEL_BELOW_DISPATCH, act.irql, this.id, 0, {
        api,
        message: `${this.call(api, 'KeReleaseSpinLockFromDpcLevel')} called at IRQL ${act.irql}, below DISPATCH_LEVEL`,
      });
    }
    checkLockOwner(k, act, this, api);
    releaseLock(k, this);
  }

  /** "NdisAcquireSpinLock(lock) → KeAcquireSpinLock" when a facade's DDI reaches the kernel routine. */
  private call(api: string, kernelRoutine: string): string {
    return api === kernelRoutine ? `${api}(${this.name})` : `${api}(${this.name}) → ${kernelRoutine}`;
  }
}
