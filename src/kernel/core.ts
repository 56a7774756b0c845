import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { activationStore, type Activation } from './activation.ts';
import { realClock, type KernelClock } from './clock.ts';
import type { BugCheckError, BugCheckInfo, DeviceLossMonitor } from './bugcheck.ts';
import { KernelContextError, KernelError } from './errors.ts';
import { InterruptController } from './interrupt-dispatch.ts';
import { requireIrqlOf } from './irql-control.ts';
import type { Kernel } from './kernel.ts';
import { limitsWithDefaults, type KernelLimits, type KernelOptions } from './kernel-options.ts';
import type { InterruptLineSource } from './lines.ts';
import type { KernelObserver } from './observer.ts';
import { resumedOnBusyProcessor } from './one-owner.ts';
import { canRun, Preemption } from './preemption.ts';
import { Processor } from './processor.ts';
import { Quiescence } from './quiescence.ts';
import type { SchedulePolicy } from './schedule-policy.ts';
import { Scheduler, SchedulerRandom } from './scheduler.ts';
import { StopRecorder } from './stop-recorder.ts';
import type { KernelTimer } from './timer.ts';
import { DpcWatchdog } from './timing-checks.ts';
import { TraceBuffer } from './trace.ts';
import { Lockset } from './lockset.ts';
import { Verifier } from './verifier.ts';

const cores = new WeakMap<Kernel, KernelCore>();

/**
 * The kernel's internal seam: the state and plumbing the files of src/kernel share (processors,
 * scheduler, the stop, preemption points, the interrupt controller, timers, the DPC watchdog). They
 * take this, never the `Kernel` facade, whose public surface is the Windows API and what the host
 * and the frameworks use. `Kernel` creates one and keeps it private; kernel objects a driver
 * constructs from a `Kernel` (SpinLock, DeviceRegisters, KernelTimer, KernelEvent) look it up once
 * with `kernelInternals`. Not exported from src/kernel/index.ts.
 */
export class KernelCore {
  readonly processors: readonly Processor[];
  /** More than one processor: the seeded scheduler has choices to make at preemption points. */
  readonly multi: boolean;
  readonly seed: number;
  readonly scheduler: Scheduler;
  /** The explorer's decisions, or null: the default (deliver at once, the PRNG picks); tested once where a decision is made. */
  readonly schedule: SchedulePolicy | null;
  readonly trace: TraceBuffer;
  readonly verifier: Verifier;
  /** The lockset verifier, null when it is off (every hook tests this once). */
  readonly lockset: Lockset | null;
  readonly limits: Readonly<Required<KernelLimits>>;
  readonly bugCheckDir: string;
  readonly lineSource: InterruptLineSource | undefined;
  readonly deviceLossMonitor: DeviceLossMonitor | undefined;
  /** Where 'bugcheck', 'device-lost' and 'verifier' are emitted: the Kernel. */
  readonly events: EventEmitter;
  readonly stops: StopRecorder;
  readonly interrupts: InterruptController;
  readonly watchdog: DpcWatchdog;
  readonly preemption: Preemption;
  readonly quiescence: Quiescence;
  /** Set timers: a stop cancels them. */
  readonly timers = new Set<KernelTimer>();
  /** The next lock's id (locks.ts, newLockId). */
  nextLockId = 1;
  /** Timers and delays: real ones, a recording's or a replay's. */
  readonly clock: KernelClock;
  /** The stop error once the driver has stopped (a bug check or the device lost), else null. */
  stopped: BugCheckError | null = null;
  /** A run recorder, while one is attached (observe); the hooks that call it check this once. */
  observer: KernelObserver | undefined = undefined;
  private unsubscribeLines: (() => void) | undefined;

  constructor(owner: Kernel, opts: KernelOptions) {
    const n = opts.processors ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new KernelError(`processors must be 1..64, got ${n}`);
    this.processors = Array.from({ length: n }, (_, i) => new Processor(i));
    this.multi = n > 1;
    this.seed = opts.seed ?? 1;
    this.schedule = opts.schedule ?? null;
    this.clock = opts.clock ?? realClock;
    this.scheduler = new Scheduler(opts.choices ?? new SchedulerRandom(this.seed), canRun, this.multi, this.schedule);
    this.trace = opts.trace ?? new TraceBuffer();
    const lockset = opts.verifier?.lockset ?? 'off';
    this.lockset = lockset === 'off' ? null : new Lockset(this, lockset);
    this.verifier = new Verifier(opts.verifier, this.lockset);
    this.limits = limitsWithDefaults(opts.limits, opts.verifier);
    this.bugCheckDir = opts.bugCheckDir ?? join(process.cwd(), 'crash-reports');
    this.events = owner;
    this.stops = new StopRecorder(this, (err) => this.stop(err));
    this.lineSource = opts.lines;
    this.deviceLossMonitor = opts.deviceLoss;
    this.interrupts = new InterruptController(this);
    this.watchdog = new DpcWatchdog(this);
    this.preemption = new Preemption(this, this.interrupts, this.stops);
    this.quiescence = new Quiescence(this, this.interrupts);
    this.unsubscribeLines = opts.lines?.onChange((line, asserted) => this.interrupts.onLineChange(line, asserted));
    cores.set(owner, this);
  }

  /** The activation (routine, processor, IRQL) the calling code runs in, if it runs on this kernel. */
  current(): Activation | undefined {
    const act = activationStore.getStore();
    return act !== undefined && this.processors[act.processor.index] === act.processor ? act : undefined;
  }

  /** The caller's activation for a kernel call `api`; throws if the driver stopped or there is none. */
  activationFor(api: string): Activation {
    if (this.stopped) throw this.stopped;
    const act = this.current();
    if (!act) throw new KernelContextError(`${api} must be called from a routine the kernel runs (runAtPassive, an ISR, a DPC)`, { api });
    if (act.ended) {
      throw new KernelContextError(`${api} called by work left running after routine ${act.name} returned (a promise it did not await)`, { api, routine: act.name });
    }
    return canRun(act) ? act : resumedOnBusyProcessor(this, act, api);
  }

  /** The IRQL range check of `api` for the caller (irql-control.ts). */
  requireIrql(api: string, min: number, max: number): void {
    requireIrqlOf(this, this.activationFor(api), api, min, max);
  }

  /** KeBugCheckEx: stop the driver (report written, 'bugcheck' emitted) and throw the BugCheckError. */
  bugCheck(code: number, p1 = 0, p2 = 0, p3 = 0, p4 = 0, info: BugCheckInfo = {}): never {
    return this.stops.bugCheck(code, p1, p2, p3, p4, info);
  }

  /**
   * A preemption point of `act`: take pending interrupts and DPCs on its processor first, wait while
   * something nested above it runs, and (several processors, `yieldToScheduler`) let the seeded
   * scheduler decide who runs next. Returns undefined on the fast path so callers skip an await.
   */
  preempt(act: Activation, yieldToScheduler: boolean): Promise<void> | undefined {
    // The fast path stays here, not in Preemption: two per register access, and the extra call
    // measurably slowed a register read (~5 %).
    if (this.stopped) throw this.stopped;
    if (act.processor.dispatchSince !== null) this.watchdog.check(act.processor);
    if (this.multi) {
      // Under the explorer every preemption point is a turn of the scheduler: another processor may run between any two.
      const yields = yieldToScheduler || this.schedule !== null;
      if (yields || !canRun(act) || this.preemption.hasWork(act.processor)) return this.preemption.preemptSlow(act, yields);
      return undefined;
    }
    if (!canRun(act) || this.preemption.hasWork(act.processor)) return this.preemption.preemptSlow(act, false);
    return undefined;
  }

  /**
   * The IRQL of `act` has just fallen (KeLowerIrql, a spin lock or interrupt lock released, the
   * end of a synchronize call): as on Windows, what became deliverable is taken before the call
   * returns to the driver — an asserted line above the new IRQL runs its ISR, then, below
   * DISPATCH_LEVEL, the processor's queued DPCs run. Undefined when nothing is pending.
   */
  irqlLowered(act: Activation): Promise<void> | undefined {
    return this.preempt(act, false);
  }

  /** P has pending work and nobody may reach a preemption point soon: let it take the work on its own. */
  requestService(P: Processor): void {
    // The check stays here: every IRQL lowering, thread end and queued DPC asks, mostly for nothing,
    // and one more call through Preemption cost a few % in the IRQL and spin lock micro-benchmarks.
    if (P.serviceRequested || !this.preemption.hasWork(P)) return;
    this.preemption.scheduleService(P);
  }

  /** Attach `observer` (one at a time); returns the function that detaches it. */
  observe(observer: KernelObserver): () => void {
    if (this.observer !== undefined) throw new KernelError('a kernel observer is already attached (one at a time)');
    this.setObserver(observer);
    return () => {
      if (this.observer === observer) this.setObserver(undefined);
    };
  }

  private setObserver(observer: KernelObserver | undefined): void {
    this.observer = observer;
    for (const P of this.processors) P.observer = observer;
  }

  /** Stop listening to the lines and stop the watchdog timer (the host is shutting down, or a stop). */
  dispose(): void {
    this.unsubscribeLines?.();
    this.unsubscribeLines = undefined;
    this.watchdog.stop();
  }

  /** What every stop does to the kernel (called by the StopRecorder before it writes the report). */
  private stop(err: BugCheckError): void {
    this.stopped = err;
    this.dispose();
    for (const t of [...this.timers]) t.disarm();
    this.interrupts.disconnectAll();
    for (const P of this.processors) {
      for (const d of P.dpcQueue) d.queuedOn = null;
      P.dpcQueue.length = 0;
    }
    this.scheduler.stop(err);
  }
}

/**
 * The internals of kernel `k`: for the kernel objects a driver constructs from a `Kernel` (looked up
 * once, in their constructors) and for the kernel's unit tests. Not exported from index.ts.
 */
export function kernelInternals(k: Kernel): KernelCore {
  const core = cores.get(k);
  if (!core) throw new KernelError('not a Kernel: it has no kernel internals');
  return core;
}
