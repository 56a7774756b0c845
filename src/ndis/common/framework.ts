import { EventEmitter } from 'node:events';
import { Irql, KernelEvent, type Kernel } from '../../kernel/index.ts';
import { logger, type Logger } from '../../util/log.ts';
import { NdisSpinLock, NdisSpinLocks } from './spin-lock.ts';
import { inRoutine, requireNdisIrql, requireNdisIrqlIfInRoutine } from './irql-rules.ts';
import { NdisError } from './errors.ts';
import { NdisTimer, type NdisTimerFunction } from './timer.ts';
import { NdisViolation, ndisBugCheck } from './bugcheck.ts';
import type { NdisApi } from './irql-rules.ts';
import type { NDIS_STATUS } from './status.ts';

/** What halt and a failed initialize look at in an adapter of either version. */
export interface ReleasingAdapter {
  readonly id: number;
  readonly name: string;
  readonly interrupt: { deregistered: boolean; readonly id: number; readonly kernelInterrupt: { readonly line: number } } | null;
  readonly pools: ReadonlySet<{ readonly tag: string; readonly inUse: number }>;
}

/** Each version's names for what a miniport must release, and whether its timers must be freed (NDIS 6 timer objects) or only not set. */
export interface ReleaseRules {
  readonly deregisterInterrupt: string;
  readonly freePool: string;
  readonly timersMustBeFreed: boolean;
}

/**
 * What the NDIS 6 and NDIS 5 facades share: the kernel underneath, NDIS spin locks, NdisMSleep and
 * NdisStallExecution, and the way NDIS runs a miniport handler at a given IRQL on some processor.
 */
/** One PnP handler call: its Windows name and the IRQL it ran at. */
export interface PnpCall {
  readonly handler: string;
  readonly irql: number;
}

export abstract class NdisFramework extends EventEmitter {
  readonly kernel: Kernel;
  /** The PnP handlers NDIS called (initialize, restart, pause, PnP events, halt), in order, with the IRQL each ran at. */
  readonly pnpCalls: PnpCall[] = [];
  protected readonly spinLocks: NdisSpinLocks;
  protected readonly log: Logger;

  protected constructor(kernel: Kernel, component: string) {
    super();
    this.kernel = kernel;
    this.spinLocks = new NdisSpinLocks(kernel);
    this.log = logger(component);
  }

  /** Run a PnP handler at PASSIVE_LEVEL, noting it (and the IRQL it really runs at) in pnpCalls. */
  protected runPnpHandler<T>(handler: string, fn: () => T | Promise<T>): Promise<T> {
    return this.kernel.runAtPassive(handler, () => {
      this.pnpCalls.push({ handler, irql: this.kernel.currentIrql() });
      return fn();
    });
  }

  /** NdisAllocateSpinLock (any IRQL). */
  allocateSpinLock(name?: string): NdisSpinLock {
    return this.spinLocks.allocate(name);
  }

  /** NdisAcquireSpinLock (<= DISPATCH_LEVEL): raises to DISPATCH_LEVEL; the old IRQL is kept in the lock. */
  acquireSpinLock(lock: NdisSpinLock): Promise<void> {
    return this.spinLocks.acquire(lock);
  }

  /**
   * NdisReleaseSpinLock (DISPATCH_LEVEL): restores the IRQL kept by NdisAcquireSpinLock. When that
   * lowers the IRQL it is a preemption point: an interrupt that fired meanwhile runs its ISR, then
   * below DISPATCH_LEVEL queued DPCs run, before it returns. Await it (undefined when nothing ran).
   */
  releaseSpinLock(lock: NdisSpinLock): Promise<void> | undefined {
    return this.spinLocks.release(lock);
  }

  /** NdisDprAcquireSpinLock (DISPATCH_LEVEL). */
  dprAcquireSpinLock(lock: NdisSpinLock): Promise<void> {
    return this.spinLocks.dprAcquire(lock);
  }

  /** NdisDprReleaseSpinLock (DISPATCH_LEVEL): no IRQL change, so no preemption point. */
  dprReleaseSpinLock(lock: NdisSpinLock): void {
    this.spinLocks.dprRelease(lock);
  }

  /** NdisFreeSpinLock (any IRQL). */
  freeSpinLock(lock: NdisSpinLock): void {
    this.spinLocks.free(lock);
  }

  /** NdisInitializeEvent (PASSIVE_LEVEL, or host code): a notification event, not signalled. */
  initializeEvent(name?: string): KernelEvent {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisInitializeEvent');
    return new KernelEvent(this.kernel, 'notification', false, name ?? 'NDIS_EVENT');
  }

  /** NdisSetEvent (<= DISPATCH_LEVEL). */
  setEvent(event: KernelEvent): void {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisSetEvent');
    event.set();
  }

  /** NdisResetEvent (<= DISPATCH_LEVEL). */
  resetEvent(event: KernelEvent): void {
    requireNdisIrqlIfInRoutine(this.kernel, 'NdisResetEvent');
    event.reset();
  }

  /** NdisWaitEvent (PASSIVE_LEVEL): true when signalled, false after `msToWait` (0 waits forever, as in Windows). */
  waitEvent(event: KernelEvent, msToWait: number): Promise<boolean> {
    requireNdisIrql(this.kernel, 'NdisWaitEvent');
    return event.wait(msToWait > 0 ? msToWait : undefined);
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

  /** NdisGetCurrentSystemTime (any IRQL): KeQuerySystemTime, 100-ns units since 1601-01-01 UTC as of the last clock tick. */
  getCurrentSystemTime(): bigint {
    return this.kernel.querySystemTime();
  }

  /** Timers by owner (the adapter), for the halt checks. */
  private readonly timersByOwner = new Map<object, Set<NdisTimer>>();

  protected createTimer(api: NdisApi, timerFunction: NdisTimerFunction, functionContext: unknown, owner: object | null, name?: string): NdisTimer {
    requireNdisIrqlIfInRoutine(this.kernel, api);
    if (typeof timerFunction !== 'function') throw new NdisError(`${api}: the timer function is required`, { api });
    const timer = new NdisTimer(this.kernel, timerFunction, functionContext, owner, name);
    if (owner) {
      let set = this.timersByOwner.get(owner);
      if (!set) this.timersByOwner.set(owner, (set = new Set()));
      set.add(timer);
    }
    return timer;
  }

  /** Set (or reset) a timer; true if it was already set. */
  protected setNdisTimer(api: NdisApi, timer: NdisTimer, dueMs: number, periodMs: number): boolean {
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkTimer(timer, api);
    if (!(dueMs >= 0) || !(periodMs >= 0)) throw new NdisError(`${api}(${timer.name}): due time ${dueMs} ms and period ${periodMs} ms must be >= 0`, { api });
    return timer.timer.set(dueMs, periodMs, timer.dpc);
  }

  /** Cancel a timer; true if it was set. A timer function already queued still runs, as in Windows. */
  protected cancelNdisTimer(api: NdisApi, timer: NdisTimer): boolean {
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkTimer(timer, api);
    return timer.timer.cancel();
  }

  /** Cancel and forget a timer (NdisFreeTimerObject). */
  protected freeNdisTimer(api: NdisApi, timer: NdisTimer): void {
    requireNdisIrqlIfInRoutine(this.kernel, api);
    this.checkTimer(timer, api);
    timer.timer.cancel();
    this.kernel.removeQueueDpc(timer.dpc);
    timer.freed = true;
    if (timer.owner) this.timersByOwner.get(timer.owner)?.delete(timer);
  }

  /**
   * After MiniportHalt(Ex): no timer of the adapter may still be set (its function would run after
   * halt); with `mustFree` (NDIS 6 timer objects) none may be left allocated either.
   */
  private checkTimersAfter(owner: { readonly id: number }, what: string, mustFree: boolean, failedInit: boolean): void {
    const timers = [...(this.timersByOwner.get(owner) ?? [])];
    const bad = timers.filter((t) => t.isSet || mustFree);
    const anySet = bad.some((t) => t.isSet);
    for (const t of timers) {
      t.timer.cancel();
      this.kernel.removeQueueDpc(t.dpc);
      t.freed = true;
    }
    this.timersByOwner.delete(owner);
    if (bad.length > 0) {
      ndisBugCheck(
        this.kernel,
        failedInit ? NdisViolation.TIMER_LEFT_AT_FAILED_INIT : NdisViolation.TIMER_LEFT_AT_HALT,
        what,
        `${what} returned with timers ${anySet ? 'still set' : 'not freed'}: ${bad.map((t) => t.name).join(', ')}`,
        owner.id,
        bad.length,
      );
    }
  }

  private checkTimer(timer: NdisTimer, api: string): void {
    if (timer instanceof NdisTimer && !timer.freed) return;
    if (inRoutine(this.kernel))
      ndisBugCheck(this.kernel, NdisViolation.INVALID_HANDLE, api, `${api} with ${timer instanceof NdisTimer ? `freed timer ${timer.name}` : 'an invalid timer'}`);
    throw new NdisError(`${api} with an invalid or freed timer`, { api });
  }

  /**
   * After MiniportHalt(Ex) or a failed MiniportInitialize(Ex): no timer left (`rules`), the
   * interrupt deregistered (0x7C/0x08 or 0x0B otherwise) and the adapter's pools freed.
   */
  protected checkReleasedAfter(adapter: ReleasingAdapter, what: string, failedInit: boolean, rules: ReleaseRules): void {
    this.checkTimersAfter(adapter, what, rules.timersMustBeFreed, failedInit);
    const irq = adapter.interrupt;
    if (irq && !irq.deregistered) {
      // NDIS disconnects it itself so that the host can go on, then stops the driver.
      irq.deregistered = true;
      ndisBugCheck(
        this.kernel,
        failedInit ? NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_FAILED_INIT : NdisViolation.INTERRUPT_NOT_DEREGISTERED_AT_HALT,
        what,
        `${what} returned for ${adapter.name} without ${rules.deregisterInterrupt}: the interrupt on line ${irq.kernelInterrupt.line} is still connected`,
        adapter.id,
        irq.id,
      );
    }
    const pools = [...adapter.pools];
    if (pools.length > 0) {
      ndisBugCheck(
        this.kernel,
        NdisViolation.POOL_FREED_WITH_OUTSTANDING_NBLS,
        what,
        `${what} returned for ${adapter.name} without ${rules.freePool} for ${pools.map((p) => `${p.tag} (${p.inUse} in use)`).join(', ')}`,
        adapter.id,
        pools.length,
      );
    }
  }

  /** Wait for a completion the miniport owes (NdisMXxxComplete), or for the driver to stop. */
  protected async waitForCompletion(completed: Promise<NDIS_STATUS>): Promise<NDIS_STATUS> {
    const stopped = this.kernel.bugCheckReport.then(() => {
      throw this.kernel.stopped;
    });
    return Promise.race([completed, stopped]);
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
        if (old !== null && !k.stopped) await k.lowerIrql(old);
      }
    }
    return k.runOnChosenProcessor(Irql.DISPATCH_LEVEL, name, () => fn(true));
  }

  /**
   * runAtDispatch for the send hot path: called from a routine already at DISPATCH_LEVEL (a
   * protocol's send at DISPATCH), the handler is called inside it and its plain result comes back
   * as is, with no promise made; every other case is runAtDispatch's.
   */
  protected runAtDispatchInline<T>(name: string, fn: (flagsAtDispatch: boolean) => T | Promise<T>): T | Promise<T> {
    const k = this.kernel;
    if (!inRoutine(k) || k.currentIrql() !== Irql.DISPATCH_LEVEL) return this.runAtDispatch(name, fn);
    return k.callRoutineInline(name, () => fn(true));
  }
}
