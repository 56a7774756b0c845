import { EventEmitter } from 'node:events';
import { Irql, type Kernel } from '../../kernel/index.ts';
import { logger, type Logger } from '../../util/log.ts';
import { NdisSpinLock, NdisSpinLocks } from './spin-lock.ts';
import { inRoutine, requireNdisIrql } from './irql-rules.ts';
import { NdisError } from './errors.ts';

/**
 * What the NDIS 6 and NDIS 5 facades share: the kernel underneath, NDIS spin locks, NdisMSleep and
 * NdisStallExecution, and the way NDIS runs a miniport handler at a given IRQL on some processor.
 */
export abstract class NdisFramework extends EventEmitter {
  readonly kernel: Kernel;
  protected readonly spinLocks: NdisSpinLocks;
  protected readonly log: Logger;

  protected constructor(kernel: Kernel, component: string) {
    super();
    this.kernel = kernel;
    this.spinLocks = new NdisSpinLocks(kernel);
    this.log = logger(component);
  }

  /** NdisAllocateSpinLock (any IRQL). */
  allocateSpinLock(name?: string): NdisSpinLock {
    return this.spinLocks.allocate(name);
  }

  /** NdisAcquireSpinLock (<= DISPATCH_LEVEL): raises to DISPATCH_LEVEL; the old IRQL is kept in the lock. */
  acquireSpinLock(lock: NdisSpinLock): Promise<void> {
    return this.spinLocks.acquire(lock);
  }

  /** NdisReleaseSpinLock (DISPATCH_LEVEL): restores the IRQL kept by NdisAcquireSpinLock. */
  releaseSpinLock(lock: NdisSpinLock): void {
    this.spinLocks.release(lock);
  }

  /** NdisDprAcquireSpinLock (DISPATCH_LEVEL). */
  dprAcquireSpinLock(lock: NdisSpinLock): Promise<void> {
    return this.spinLocks.dprAcquire(lock);
  }

  /** NdisDprReleaseSpinLock (DISPATCH_LEVEL). */
  dprReleaseSpinLock(lock: NdisSpinLock): void {
    this.spinLocks.dprRelease(lock);
  }

  /** NdisFreeSpinLock (any IRQL). */
  freeSpinLock(lock: NdisSpinLock): void {
    this.spinLocks.free(lock);
  }

  /** NdisMSleep (PASSIVE_LEVEL): gives up the processor for `microseconds`. */
  async sleep(microseconds: number): Promise<void> {
    requireNdisIrql(this.kernel, 'NdisMSleep');
    await this.kernel.delayExecution(Math.max(0, microseconds) / 1000);
  }

  /** NdisStallExecution (any IRQL): busy-waits holding the processor. */
  stallExecution(microseconds: number): Promise<void> {
    requireNdisIrql(this.kernel, 'NdisStallExecution');
    return this.kernel.stallExecutionProcessor(microseconds);
  }

  /** Host-only entry points refuse to run inside a driver routine. */
  protected requireHost(api: string): void {
    if (inRoutine(this.kernel)) {
      throw new NdisError(`${api} is a host-side call (NDIS calling the miniport); it cannot be made from driver code`, { api, routine: this.kernel.current()?.routine });
    }
  }

  /**
   * Run a miniport handler at DISPATCH_LEVEL, as NDIS does for sends and returns: inside the
   * caller's routine (raised to DISPATCH_LEVEL if below) when called from one, else as a thread call
   * at DISPATCH_LEVEL on a processor the scheduler picks (idle ones first).
   */
  protected async runAtDispatch<T>(name: string, fn: (flagsAtDispatch: boolean) => T | Promise<T>): Promise<T> {
    const k = this.kernel;
    if (inRoutine(k)) {
      k.requireIrql(name, Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
      const irql = k.currentIrql();
      const old = irql < Irql.DISPATCH_LEVEL ? k.raiseIrql(Irql.DISPATCH_LEVEL) : null;
      try {
        return await k.callRoutine(name, () => fn(true));
      } finally {
        if (old !== null && !k.stopped) k.lowerIrql(old);
      }
    }
    const idle = k.processors.filter((P) => P.idle);
    const P = k.scheduler.choose(idle.length ? idle : k.processors);
    return k.runOnProcessor(P.index, Irql.DISPATCH_LEVEL, name, () => fn(true));
  }
}
