import { Irql, RESOLVED, type Kernel, type SpinLock } from '../../kernel/index.ts';
import { NdisViolation, ndisBugCheck } from './bugcheck.ts';
import { requireNdisIrql, requireNdisIrqlIfInRoutine } from './irql-rules.ts';

/**
 * NDIS_SPIN_LOCK: a kernel spin lock plus the IRQL to restore, kept inside the lock as Windows
 * does (NdisAcquireSpinLock stores OldIrql in the structure, NdisReleaseSpinLock restores it).
 */
export class NdisSpinLock {
  readonly spinLock: SpinLock;
  /** OldIrql: the acquirer's IRQL before NdisAcquireSpinLock raised it. */
  oldIrql: number = Irql.PASSIVE_LEVEL;
  freed = false;

  constructor(spinLock: SpinLock) {
    this.spinLock = spinLock;
  }

  get name(): string {
    return this.spinLock.name;
  }

  get held(): boolean {
    return this.spinLock.owner !== null;
  }
}

/** The NDIS spin lock calls, shared by the NDIS 6 and NDIS 5 facades. */
export class NdisSpinLocks {
  private readonly kernel: Kernel;
  private count = 0;

  constructor(kernel: Kernel) {
    this.kernel = kernel;
  }

  /** NdisAllocateSpinLock (any IRQL). */
  allocate(name?: string): NdisSpinLock {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisAllocateSpinLock');
    return new NdisSpinLock(this.kernel.createSpinLock(name ?? `NDIS_SPIN_LOCK#${++this.count}`));
  }

  /**
   * NdisAcquireSpinLock (<= DISPATCH_LEVEL): raises to DISPATCH_LEVEL and keeps the old IRQL in the
   * lock. A free lock is taken at once (the returned promise is already settled and none is made);
   * a held one is spun for.
   */
  acquire(lock: NdisSpinLock): Promise<void> {
    try {
      this.checkLive(lock, 'NdisAcquireSpinLock');
      const old = lock.spinLock.acquireOrSpin('NdisAcquireSpinLock');
      if (typeof old !== 'number')
        return old.then((irql) => {
          lock.oldIrql = irql;
        });
      lock.oldIrql = old;
      return RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * NdisReleaseSpinLock (DISPATCH_LEVEL): releases and restores the IRQL saved by
   * NdisAcquireSpinLock; lowering it is a preemption point (KeReleaseSpinLock's).
   */
  release(lock: NdisSpinLock): Promise<void> | undefined {
    this.checkLive(lock, 'NdisReleaseSpinLock');
    return lock.spinLock.release(lock.oldIrql, 'NdisReleaseSpinLock');
  }

  /** NdisDprAcquireSpinLock (DISPATCH_LEVEL): no IRQL change. */
  dprAcquire(lock: NdisSpinLock): Promise<void> {
    try {
      requireNdisIrql(this.kernel, 'NdisDprAcquireSpinLock');
      this.checkLive(lock, 'NdisDprAcquireSpinLock');
      return lock.spinLock.acquireAtDpcLevelOrSpin('NdisDprAcquireSpinLock') ?? RESOLVED;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** NdisDprReleaseSpinLock (DISPATCH_LEVEL): the IRQL does not change, so it is no preemption point. */
  dprRelease(lock: NdisSpinLock): void {
    requireNdisIrql(this.kernel, 'NdisDprReleaseSpinLock');
    this.checkLive(lock, 'NdisDprReleaseSpinLock');
    lock.spinLock.releaseFromDpcLevel('NdisDprReleaseSpinLock');
  }

  /** NdisFreeSpinLock (any IRQL): freeing a held lock is a bug check. */
  free(lock: NdisSpinLock): void {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisFreeSpinLock');
    this.checkLive(lock, 'NdisFreeSpinLock');
    if (lock.held) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.SPIN_LOCK_FREED,
        'NdisFreeSpinLock',
        `NdisFreeSpinLock(${lock.name}) while it is held by ${lock.spinLock.owner?.routine ?? '?'}`,
        lock.spinLock.id,
      );
    }
    lock.freed = true;
  }

  private checkLive(lock: NdisSpinLock, api: string): void {
    if (!lock.freed) return;
    ndisBugCheck(this.kernel, NdisViolation.SPIN_LOCK_FREED, api, `${api}(${lock.name}) after NdisFreeSpinLock`, lock.spinLock.id);
  }
}
