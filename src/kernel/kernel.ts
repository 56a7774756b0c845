import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Activation } from './activation.ts';
import { BugCheckCode, type BugCheckError, type BugCheckReport, type DeviceLossMonitor } from './bugcheck.ts';
import type { Dpc } from './dpc.ts';
import { dequeueDpc, flushQueuedDpcs, insertQueueDpc } from './dpc-queue.ts';
import { DriverStoppedError, KernelContextError, KernelError } from './errors.ts';
import { InterruptController } from './interrupt-dispatch.ts';
import type { ConnectInterruptOptions, InterruptObject } from './interrupt.ts';
import { Irql, irqlName } from './irql.ts';
import { lowerIrql, raiseIrql, requireIrqlOf, setIrql } from './irql-control.ts';
import type { InterruptLineSource } from './lines.ts';
import { Processor } from './processor.ts';
import { canRun, Preemption } from './preemption.ts';
import { Quiescence } from './quiescence.ts';
import { StopRecorder } from './stop-recorder.ts';
import { Scheduler, SeededRandom } from './scheduler.ts';
import { checkLockOwner, checkLockRecursion, releaseLock, takeLock } from './locks.ts';
import { SpinLock, type KernelLock } from './spin-lock.ts';
import {
  acquireInterruptLock, acquireInterruptLockFor, acquireInterruptSpinLock, releaseInterruptLock, releaseInterruptSpinLock, synchronizeExecution,
} from './synchronize.ts';
import type { KernelTimer } from './timer.ts';
import { isThenable } from './thenable.ts';
import { DpcWatchdog, verifierCheck } from './timing-checks.ts';
import { TraceBuffer } from './trace.ts';
import { Verifier, type VerifierOptions } from './verifier.ts';
import { stallExecutionProcessor, wait } from './waiting.ts';

/**
 * The activation the running code belongs to, for every kernel in the process: one
 * AsyncLocalStorage, not one per kernel. Node keeps each enabled instance in a process-wide list
 * that every promise creation walks, and never drops one that is not disabled; a kernel of its own
 * made every later promise in the process pay for every kernel ever created (benchmarks and tests
 * create many). current() keeps kernels apart: an activation counts only for the kernel whose
 * processor it runs on.
 */
const activations = new AsyncLocalStorage<Activation>();

export interface KernelLimits {
  /** DPC_WATCHDOG_VIOLATION (0x133, P1=0) when one DPC or ISR runs longer. Default 1000 ms. */
  dpcTimeLimitMs?: number;
  /** DPC_WATCHDOG_VIOLATION (0x133, P1=1) when a processor stays at DISPATCH_LEVEL or above longer. Default 5000 ms. */
  dispatchTimeLimitMs?: number;
  /** HARDWARE_INTERRUPT_STORM (0xF2) after this many rounds in which no ISR recognised a still-asserted line. Default 1000. */
  interruptStormThreshold?: number;
  /** Trace events included in a bug check report. Default 64. */
  traceTail?: number;
}

export interface KernelOptions {
  /** Logical processors. Default 1. */
  processors?: number;
  /** Seed of the scheduler's choices when there are several processors. Default 1. */
  seed?: number;
  lines?: InterruptLineSource;
  /** Enables the verifier's timing checks (absent: off). */
  verifier?: VerifierOptions;
  /** Where bug check reports go. Default ./crash-reports. */
  bugCheckDir?: string;
  trace?: TraceBuffer;
  limits?: KernelLimits;
  /** Tells "the device went away" from a driver fault (absent: every escaping error is the driver's). */
  deviceLoss?: DeviceLossMonitor;
}

export interface BugCheckInfo {
  api?: string;
  message?: string;
  cause?: unknown;
  /** Processor to report when the bug check is raised outside any routine (watchdog timer). */
  processor?: number;
  stacks?: { label: string; stack: string }[];
}

/**
 * The kernel model: processors with IRQLs, interrupt dispatch, DPC queues, spin locks,
 * synchronize-with-interrupt, bug checks. Facades (NDIS, KMDF) are written on top of it.
 *
 * Which processor and IRQL a piece of driver code runs at is kept in AsyncLocalStorage: the
 * Activation follows the code across every await, whatever it awaits, so KeGetCurrentIrql is right
 * even if a driver awaits something that is not a kernel preemption point (a global "current
 * processor" set by the scheduler would silently become wrong there). The price on Node 20 is about
 * 100 ns per awaited promise process-wide; a qtest register read costs 15–90 µs.
 */
export class Kernel extends EventEmitter {
  readonly processors: readonly Processor[];
  readonly seed: number;
  readonly trace: TraceBuffer;
  readonly scheduler: Scheduler;
  readonly verifier: Verifier;
  readonly limits: Readonly<Required<KernelLimits>>;
  readonly bugCheckDir: string;
  /** Resolves with the report (files written) once the driver has bug-checked. Never rejects. */
  readonly bugCheckReport: Promise<BugCheckReport>;
  readonly lineSource: InterruptLineSource | undefined;
  readonly deviceLossMonitor: DeviceLossMonitor | undefined;
  private readonly stops: StopRecorder;
  private stopError: BugCheckError | null = null;
  private lastReport: BugCheckReport | undefined;
  private readonly interrupts: InterruptController;
  private readonly preemption: Preemption;
  private readonly quiescence: Quiescence;
  private readonly multi: boolean;
  private unsubscribeLines: (() => void) | undefined;
  private readonly timers = new Set<KernelTimer>();
  private readonly watchdog: DpcWatchdog;

  constructor(opts: KernelOptions = {}) {
    super();
    const n = opts.processors ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new KernelError(`processors must be 1..64, got ${n}`);
    this.processors = Array.from({ length: n }, (_, i) => new Processor(i));
    this.multi = n > 1;
    this.seed = opts.seed ?? 1;
    this.scheduler = new Scheduler(new SeededRandom(this.seed), canRun, this.multi);
    this.trace = opts.trace ?? new TraceBuffer();
    this.verifier = new Verifier(opts.verifier);
    this.limits = {
      dpcTimeLimitMs: opts.limits?.dpcTimeLimitMs ?? 1000,
      dispatchTimeLimitMs: opts.limits?.dispatchTimeLimitMs ?? 5000,
      interruptStormThreshold: opts.limits?.interruptStormThreshold ?? 1000,
      traceTail: opts.limits?.traceTail ?? 64,
    };
    this.bugCheckDir = opts.bugCheckDir ?? join(process.cwd(), 'crash-reports');
    this.stops = new StopRecorder(this, (err) => this.stop(err));
    this.bugCheckReport = this.stops.report;
    this.lineSource = opts.lines;
    this.deviceLossMonitor = opts.deviceLoss;
    this.interrupts = new InterruptController(this);
    this.watchdog = new DpcWatchdog(this);
    this.preemption = new Preemption(this, this.interrupts, this.watchdog, this.stops);
    this.quiescence = new Quiescence(this, this.interrupts);
    this.unsubscribeLines = opts.lines?.onChange((line, asserted) => this.interrupts.onLineChange(line, asserted));
  }

  // ---------------------------------------------------------------- state

  /** The bug check error once the driver has crashed, else null. */
  get stopped(): BugCheckError | null {
    return this.stopError;
  }

  /** The report of the bug check, once there was one. */
  get lastBugCheck(): BugCheckReport | undefined {
    return this.lastReport;
  }

  get processorCount(): number {
    return this.processors.length;
  }

  get connectedInterrupts(): InterruptObject[] {
    return this.interrupts.connected;
  }

  /** The activation (routine, processor, IRQL) the calling code runs in, if any. */
  current(): Activation | undefined {
    const act = activations.getStore();
    return act !== undefined && this.processors[act.processor.index] === act.processor ? act : undefined;
  }

  /** Used by kernel objects: the caller's activation; throws if the driver stopped or there is none. */
  activationFor(api: string): Activation {
    if (this.stopError) throw this.stopError;
    const act = this.current();
    if (!act) throw new KernelContextError(`${api} must be called from a routine the kernel runs (runAtPassive, an ISR, a DPC)`, { api });
    if (act.ended) {
      throw new KernelContextError(`${api} called by work left running after routine ${act.name} returned (a promise it did not await)`, { api, routine: act.name });
    }
    return act;
  }

  runIn<T>(act: Activation, fn: () => T): T {
    return activations.run(act, fn);
  }

  // ---------------------------------------------------------------- IRQL

  /** KeGetCurrentIrql. */
  currentIrql(): number {
    return this.activationFor('KeGetCurrentIrql').irql;
  }

  /** KeGetCurrentProcessorNumber. */
  currentProcessor(): number {
    return this.activationFor('KeGetCurrentProcessorNumber').processor.index;
  }

  /** KeRaiseIrql: returns the old IRQL; raising to a lower level is a bug check. */
  raiseIrql(newIrql: number): number {
    return raiseIrql(this, newIrql);
  }

  /** KeLowerIrql: lowering to a higher level, or below the level the routine was entered at, is a bug check. */
  lowerIrql(newIrql: number): void {
    lowerIrql(this, newIrql);
  }

  /**
   * Every facade entry point calls this with the IRQL range Microsoft documents for it. Above the
   * range: IRQL_NOT_LESS_OR_EQUAL (P2 current IRQL, P3 highest allowed); below: IRQL_NOT_GREATER_OR_EQUAL.
   */
  requireIrql(api: string, min: number, max: number): void {
    requireIrqlOf(this, this.activationFor(api), api, min, max);
  }

  /** requireIrql for a caller that already holds its activation (saves looking it up again). */
  requireIrqlOf(act: Activation, api: string, min: number, max: number): void {
    requireIrqlOf(this, act, api, min, max);
  }

  /** Set an activation's IRQL and keep its processor's state (owner, DPC watchdog clock, pending work) right. */
  setIrql(act: Activation, irql: number): void {
    setIrql(this, act, irql);
  }

  // ---------------------------------------------------------------- running routines

  /**
   * Run a driver routine as a thread call on processor `n`, starting at `irql` (PASSIVE_LEVEL for
   * MiniportInitializeEx, DISPATCH_LEVEL for a send from a protocol at DISPATCH). An exception
   * escaping it is SYSTEM_THREAD_EXCEPTION_NOT_HANDLED; returning at another IRQL is IRQL_UNEXPECTED_VALUE.
   */
  async runOnProcessor<T>(n: number, irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
    if (this.stopError) throw new DriverStoppedError(`driver stopped by bug check ${this.stopError.report.name}; ${name} refused`, { routine: name }, { cause: this.stopError });
    const P = this.processors[n];
    if (!P) throw new KernelError(`processor ${n} does not exist (${this.processors.length} configured)`, { routine: name });
    if (irql !== Irql.PASSIVE_LEVEL && irql !== Irql.APC_LEVEL && irql !== Irql.DISPATCH_LEVEL) {
      throw new KernelError(`a thread call starts at PASSIVE_LEVEL, APC_LEVEL or DISPATCH_LEVEL, not ${irqlName(irql)}`, { routine: name });
    }
    const act = new Activation('thread', P, irql, name);
    P.threads.add(act);
    return activations.run(act, async () => {
      try {
        let wait = this.multi || !canRun(act) || (irql >= Irql.DISPATCH_LEVEL && P.owner !== null);
        while (wait) {
          await this.scheduler.park(act, undefined, 'ready');
          // Woken in the same tick as others: a DPC drain started then may already be nested on P.
          wait = !canRun(act);
        }
        if (irql >= Irql.DISPATCH_LEVEL) {
          act.processor.owner = act;
          act.processor.noteIrql();
        }
        let result: T;
        try {
          result = await fn();
        } catch (err) {
          throw this.routineFailed(act, err);
        }
        if (act.irql !== act.baseIrql) {
          this.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (act.baseIrql << 8) | 2, 0, 0, 0, {
            message: `${name} returned at ${irqlName(act.irql)} but was called at ${irqlName(act.baseIrql)} (a spin lock still held, or an IRQL not restored)`,
          });
        }
        return result;
      } finally {
        this.endThread(act);
      }
    });
  }

  /** A system-thread call (MiniportInitializeEx, MiniportHaltEx, an OID request) at PASSIVE_LEVEL on a processor the scheduler picks. */
  runAtPassive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const idle = this.processors.filter((P) => P.idle);
    const P = this.scheduler.choose(idle.length ? idle : this.processors);
    return this.runOnProcessor(P.index, Irql.PASSIVE_LEVEL, name, fn);
  }

  /**
   * Call a driver callback inside the current routine (NDIS calling MiniportInterruptDPC from its
   * DPC, a facade calling MiniportSynchronizeInterrupt): it shows in the chain of routines and must
   * return at the IRQL it was called at.
   */
  async callRoutine<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    const act = this.activationFor(name);
    const irql = act.irql;
    const rec = { name, irql, since: performance.now() };
    act.routines.push(rec);
    try {
      const r = fn();
      const result = isThenable(r) ? await r : r;
      if (act.irql !== irql) {
        this.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (irql << 8) | 2, 0, 0, 0, {
          message: `${name} returned at ${irqlName(act.irql)} but was called at ${irqlName(irql)}`,
        });
      }
      return result;
    } finally {
      const i = act.routines.lastIndexOf(rec);
      if (i > 0) act.routines.splice(i, 1);
    }
  }

  private endThread(act: Activation): void {
    act.ended = true;
    const P = act.processor;
    P.threads.delete(act);
    if (P.owner === act) P.owner = null;
    P.noteIrql();
    this.scheduler.wake();
    this.requestService(P);
  }

  /**
   * Turn what escaped a routine into the bug check Windows would raise (or pass a bug check
   * through); the device going away (the monitor says so) is DIRQL_DEVICE_LOST instead.
   */
  routineFailed(act: Activation, err: unknown): unknown {
    return this.stops.routineFailed(act, err);
  }

  // ---------------------------------------------------------------- preemption points

  /** Interrupts above P's IRQL pending for it, or DPCs queued while it is below DISPATCH_LEVEL. */
  hasWork(P: Processor): boolean {
    return this.preemption.hasWork(P);
  }

  /**
   * A preemption point of `act`: take pending interrupts and DPCs on its processor first, wait while
   * something nested above it runs, and (several processors, `yieldToScheduler`) let the seeded
   * scheduler decide who runs next. Returns undefined on the fast path so callers skip an await.
   */
  preempt(act: Activation, yieldToScheduler: boolean): Promise<void> | undefined {
    return this.preemption.preempt(act, yieldToScheduler);
  }

  /** P has pending work and nobody may reach a preemption point soon: let it take the work on its own. */
  requestService(P: Processor): void {
    this.preemption.requestService(P);
  }

  /** Used by locks: spin (or wait, below DISPATCH_LEVEL) until `ready`, taking interrupts meanwhile. */
  spinUntil(act: Activation, ready: () => boolean, state: string): Promise<void> {
    return this.preemption.spinUntil(act, ready, state);
  }

  /** Wait (host code or a thread at <= APC_LEVEL) until `cond` holds. */
  waitUntil(cond: () => boolean, state: string): Promise<void> {
    return this.preemption.waitUntil(cond, state);
  }

  // ---------------------------------------------------------------- waiting and stalling

  /**
   * KeWaitForSingleObject on anything: a thread (<= APC_LEVEL) gives up its processor while
   * `promise` is pending and resumes through the scheduler. Driver code should await nothing else.
   */
  wait<T>(promise: Promise<T>, what = 'an object'): Promise<T> {
    return wait(this, promise, what);
  }

  /** KeDelayExecutionThread / NdisMSleep (<= APC_LEVEL). */
  delayExecution(ms: number): Promise<void> {
    return this.wait(new Promise<void>((r) => setTimeout(r, ms)), `${ms} ms`);
  }

  /**
   * KeStallExecutionProcessor: busy-waits holding the processor (any IRQL); a preemption point
   * before and after. Up to 100 µs it really spins; longer stalls sleep (other processors run,
   * interrupts may nest) but keep the processor, and never return early.
   */
  stallExecutionProcessor(microseconds: number): Promise<void> {
    return stallExecutionProcessor(this, microseconds);
  }

  // ---------------------------------------------------------------- interrupts

  /** IoConnectInterruptEx (line based). At PASSIVE_LEVEL when called from a routine. */
  connectInterrupt(opts: ConnectInterruptOptions): InterruptObject {
    if (this.stopError) throw new DriverStoppedError('driver stopped by a bug check; connectInterrupt refused', {}, { cause: this.stopError });
    const act = this.current();
    if (act && !act.ended) this.requireIrql('IoConnectInterruptEx', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    return this.interrupts.connect(opts);
  }

  /**
   * KeSynchronizeExecution (NdisMSynchronizeWithInterruptEx, WdfInterruptSynchronize): raise to the
   * interrupt's synchronize IRQL, take its spin lock (spinning while an ISR holds it on another
   * processor), run the callback, release, restore the caller's IRQL, return the callback's boolean.
   * For a passive-level interrupt: at PASSIVE_LEVEL under the passive-level interrupt lock.
   */
  synchronizeExecution(interrupt: InterruptObject, callback: (context: unknown) => boolean | Promise<boolean>, context?: unknown): Promise<boolean> {
    return synchronizeExecution(this, interrupt, callback, context);
  }

  /** KeAcquireInterruptSpinLock: returns the old IRQL. A passive-level interrupt has no spin lock (0x13B). */
  acquireInterruptSpinLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptSpinLock(this, interrupt);
  }

  /** KeReleaseInterruptSpinLock. */
  releaseInterruptSpinLock(interrupt: InterruptObject, oldIrql: number): void {
    releaseInterruptSpinLock(this, interrupt, oldIrql);
  }

  /** WdfInterruptAcquireLock: the interrupt spin lock, or the passive-level lock of a passive interrupt. */
  acquireInterruptLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptLock(this, interrupt);
  }

  /** WdfInterruptReleaseLock. */
  releaseInterruptLock(interrupt: InterruptObject, oldIrql: number): void {
    releaseInterruptLock(this, interrupt, oldIrql);
  }

  /**
   * Used by the interrupt dispatcher and synchronize: take an interrupt's lock at the caller's
   * current IRQL. Undefined when it was free (taken at once), else a promise that spins for it.
   */
  acquireInterruptLockFor(act: Activation, interrupt: InterruptObject): Promise<void> | undefined {
    return acquireInterruptLockFor(this, act, interrupt);
  }

  // ---------------------------------------------------------------- locks (shared by SpinLock and interrupt locks)

  /** KeInitializeSpinLock. */
  createSpinLock(name?: string): SpinLock {
    return new SpinLock(this, name);
  }

  /** Used by locks: SPIN_LOCK_ALREADY_OWNED if `act`, or its processor at DISPATCH_LEVEL or above, already holds `lock`. */
  checkLockRecursion(act: Activation, lock: KernelLock, api: string): void {
    checkLockRecursion(this, act, lock, api);
  }

  /** Used by locks: SPIN_LOCK_NOT_OWNED unless `act` holds `lock`. */
  checkLockOwner(act: Activation, lock: KernelLock, api: string): void {
    checkLockOwner(this, act, lock, api);
  }

  /** Take `lock` for `act`: at once when it is free (undefined), else a promise that spins for it. */
  takeLock(act: Activation, lock: KernelLock): Promise<void> | undefined {
    return takeLock(this, act, lock);
  }

  releaseLock(lock: KernelLock): void {
    releaseLock(this, lock);
  }

  // ---------------------------------------------------------------- DPCs

  /**
   * KeInsertQueueDpc (any IRQL): false if it is already queued (it stays queued once, with its
   * first arguments). It runs on its target processor, or on the caller's.
   */
  insertQueueDpc(dpc: Dpc, arg1?: unknown, arg2?: unknown): boolean {
    return insertQueueDpc(this, dpc, arg1, arg2);
  }

  /** KeRemoveQueueDpc: true if it was queued. */
  removeQueueDpc(dpc: Dpc): boolean {
    return dequeueDpc(this, dpc);
  }

  dequeueDpc(dpc: Dpc): boolean {
    return dequeueDpc(this, dpc);
  }

  /** KeFlushQueuedDpcs (PASSIVE_LEVEL): returns once every queued DPC has run. */
  flushQueuedDpcs(): Promise<void> {
    return flushQueuedDpcs(this);
  }

  /** Used by KernelTimer: the timers a bug check must cancel. */
  trackTimer(timer: KernelTimer, active: boolean): void {
    if (active) this.timers.add(timer);
    else this.timers.delete(timer);
  }

  // ---------------------------------------------------------------- quiescence

  /** No ISR or DPC running or queued, no connected line asserted. */
  isQuiescent(): boolean {
    return this.quiescence.isQuiescent();
  }

  /** Wait until no ISR or DPC is running or queued (posted writes settled first). Usable by host code and by threads. */
  quiesce(): Promise<void> {
    return this.quiescence.quiesce();
  }

  /** quiesce(), and no thread call running either. Host code only. */
  idle(): Promise<void> {
    return this.quiescence.idle();
  }

  /** Used by quiesce: lines.settle(), then stop if the driver crashed meanwhile. */
  settleLines(): Promise<void> {
    return this.quiescence.settleLines();
  }

  /**
   * Used by the interrupt dispatcher after a line's ISRs: the source's settleLine(line) when it has
   * one (it may skip the wait), else settle(). Undefined when there is nothing to wait for.
   */
  settleLine(line: number): Promise<void> | undefined {
    return this.quiescence.settleLine(line);
  }

  // ---------------------------------------------------------------- watchdog and verifier

  /** DPC_WATCHDOG_VIOLATION checks for processor P (throws the bug check). */
  checkWatchdog(P: Processor, now?: number): void {
    this.watchdog.check(P, now);
  }

  /** Verifier timing check of an ISR or synchronize callback; bug checks (0xC4) or records per options. */
  verifierCheck(kind: 'isr' | 'synchronize', routine: string, durationUs: number, act: Activation, interruptId: number): void {
    verifierCheck(this, kind, routine, durationUs, act, interruptId);
  }

  // ---------------------------------------------------------------- bug checks

  /**
   * KeBugCheckEx: stop the driver. Records the report (code, parameters, processor, IRQL, nested
   * routines, JS stacks, trace tail), disconnects interrupts, drops queued DPCs, unwinds every
   * parked routine with the BugCheckError, writes the report files, emits 'bugcheck', and throws.
   */
  bugCheck(code: number, p1 = 0, p2 = 0, p3 = 0, p4 = 0, info: BugCheckInfo = {}): never {
    return this.stops.bugCheck(code, p1, p2, p3, p4, info);
  }

  /** Whether `err`, or an error in its cause chain, means the device is gone (asks the monitor). */
  isDeviceLoss(err: unknown): boolean {
    return this.stops.isDeviceLoss(err);
  }

  /**
   * The device went away under the driver (dirql's surprise removal: QEMU exited). Stops the driver
   * as a bug check does, with DIRQL_DEVICE_LOST, which blames nobody's code: P1 = where it surfaced
   * (DeviceLostWhere), P2 = the IRQL there. The report is completed with the monitor's description
   * (QEMU's exit, stderr tail), written to device-lost-<time>.json/.txt, logged, and emitted as
   * 'device-lost' (never 'bugcheck'). Returns the stop error; after an earlier stop, that one.
   */
  deviceLost(cause?: unknown): BugCheckError {
    return this.stops.stopForDeviceLoss(cause, undefined);
  }

  /**
   * Host code (not a driver routine) met `err`: if it means the device is gone, stop the driver
   * with DIRQL_DEVICE_LOST and return that stop error; otherwise return `err` unchanged.
   */
  hostFailed(err: unknown): unknown {
    return this.stops.hostFailed(err);
  }

  /** What every stop does to the kernel (called by the StopRecorder before it writes the report). */
  private stop(err: BugCheckError): void {
    this.stopError = err;
    this.lastReport = err.report;
    this.dispose();
    for (const t of [...this.timers]) t.cancel();
    this.interrupts.disconnectAll();
    for (const P of this.processors) {
      for (const d of P.dpcQueue) d.queuedOn = null;
      P.dpcQueue.length = 0;
    }
    this.scheduler.stop(err);
  }

  /** Stop listening to the lines and stop the watchdog timer (the host is shutting down). */
  dispose(): void {
    this.unsubscribeLines?.();
    this.unsubscribeLines = undefined;
    this.watchdog.stop();
  }
}
