import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { activationStore, type Activation } from './activation.ts';
import type { BugCheckError, BugCheckInfo, BugCheckReport, DeviceLossMonitor } from './bugcheck.ts';
import type { Dpc } from './dpc.ts';
import { dequeueDpc, enqueueDpc, flushQueuedDpcs, insertQueueDpc } from './dpc-queue.ts';
import { DriverStoppedError, KernelContextError, KernelError } from './errors.ts';
import { InterruptController } from './interrupt-dispatch.ts';
import type { ConnectInterruptOptions, InterruptObject } from './interrupt.ts';
import { Irql } from './irql.ts';
import { lowerIrql, raiseIrql, requireIrqlIfInRoutine, requireIrqlOf, setIrql } from './irql-control.ts';
import { limitsWithDefaults, type KernelLimits, type KernelOptions } from './kernel-options.ts';
import type { InterruptLineSource } from './lines.ts';
import { checkLockOwner, checkLockRecursion, releaseLock, takeLock } from './locks.ts';
import { canRun, Preemption } from './preemption.ts';
import { resumedOnBusyProcessor } from './one-owner.ts';
import { Processor } from './processor.ts';
import { Quiescence } from './quiescence.ts';
import { callRoutine, runAtPassive, runOnProcessor } from './routines.ts';
import { Scheduler, SeededRandom } from './scheduler.ts';
import { SpinLock, type KernelLock } from './spin-lock.ts';
import { StopRecorder } from './stop-recorder.ts';
import {
  acquireInterruptLock, acquireInterruptLockFor, acquireInterruptSpinLock, releaseInterruptLock, releaseInterruptSpinLock, synchronizeExecution,
} from './synchronize.ts';
import type { KernelTimer } from './timer.ts';
import { DpcWatchdog, verifierCheck } from './timing-checks.ts';
import { TraceBuffer } from './trace.ts';
import { Verifier } from './verifier.ts';
import { stallExecutionProcessor, wait } from './waiting.ts';

/**
 * The kernel model: processors with IRQLs, interrupt dispatch, DPC queues, spin locks,
 * synchronize-with-interrupt, bug checks. Facades (NDIS, KMDF) are written on top of it.
 *
 * Which processor and IRQL a piece of driver code runs at is kept in AsyncLocalStorage: the
 * Activation follows the code across every await, whatever it awaits, so KeGetCurrentIrql is right
 * even if a driver awaits something that is not a kernel preemption point (a global "current
 * processor" set by the scheduler would silently become wrong there). The price on Node 20 is about
 * 100 ns per awaited promise process-wide; a qtest register read costs 15–90 µs.
 *
 * This class is the facade every caller uses and owns the kernel's state; each concern lives in a
 * file beside it (src/kernel/README.md lists them) and the methods here delegate to it.
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
  private readonly multi: boolean;
  private readonly quiescence: Quiescence;
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
    this.limits = limitsWithDefaults(opts.limits, opts.verifier);
    this.bugCheckDir = opts.bugCheckDir ?? join(process.cwd(), 'crash-reports');
    this.stops = new StopRecorder(this, (err) => this.stop(err));
    this.bugCheckReport = this.stops.report;
    this.lineSource = opts.lines;
    this.deviceLossMonitor = opts.deviceLoss;
    this.interrupts = new InterruptController(this);
    this.watchdog = new DpcWatchdog(this);
    this.preemption = new Preemption(this, this.interrupts, this.stops);
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
    const act = activationStore.getStore();
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
    return canRun(act) ? act : resumedOnBusyProcessor(this, act, api);
  }

  runIn<T>(act: Activation, fn: () => T): T {
    return activationStore.run(act, fn);
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

  /**
   * KeLowerIrql: lowering to a higher level, or below the level the routine was entered at, is a
   * bug check. A preemption point: an interrupt pending above the new IRQL is taken, and below
   * DISPATCH_LEVEL queued DPCs run, before it returns. Await it (undefined when nothing was pending).
   */
  lowerIrql(newIrql: number): Promise<void> | undefined {
    return lowerIrql(this, newIrql);
  }

  /** Every facade entry point calls this with the IRQL range Microsoft documents for it (0xA above it, 0x9 below). */
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
   * Run a driver routine as a thread call on processor `n`, starting at `irql` (PASSIVE, APC or
   * DISPATCH_LEVEL). An escaping exception is 0x7E; returning at another IRQL is 0xC8.
   */
  runOnProcessor<T>(n: number, irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
    return runOnProcessor(this, n, irql, name, fn);
  }

  /** A system-thread call (MiniportInitializeEx, MiniportHaltEx, an OID request) at PASSIVE_LEVEL on a processor the scheduler picks. */
  runAtPassive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return runAtPassive(this, name, fn);
  }

  /** Call a driver callback inside the current routine: it shows in the chain of routines and must return at its IRQL. */
  callRoutine<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return callRoutine(this, name, fn);
  }

  /** What escaped a routine, as the stop it causes (0x1E/0x7E, DIRQL_DEVICE_LOST, or the bug check passed through). */
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
    // The fast path stays here, not in Preemption: two per register access, and the extra call
    // measurably slowed a register read (~5 %).
    if (this.stopError) throw this.stopError;
    if (act.processor.dispatchSince !== null) this.watchdog.check(act.processor);
    if ((this.multi && yieldToScheduler) || !canRun(act) || this.preemption.hasWork(act.processor)) return this.preemption.preemptSlow(act, yieldToScheduler);
    return undefined;
  }

  /** P has pending work and nobody may reach a preemption point soon: let it take the work on its own. */
  requestService(P: Processor): void {
    // The check stays here: every IRQL lowering, thread end and queued DPC asks, mostly for nothing,
    // and one more call through Preemption cost a few % in the IRQL and spin lock micro-benchmarks.
    if (P.serviceRequested || !this.preemption.hasWork(P)) return;
    this.preemption.scheduleService(P);
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

  /** KeStallExecutionProcessor (any IRQL): holds the processor, never returns early; a preemption point before and after. */
  stallExecutionProcessor(microseconds: number): Promise<void> {
    return stallExecutionProcessor(this, microseconds);
  }

  // ---------------------------------------------------------------- interrupts

  /** IoConnectInterruptEx (line based). At PASSIVE_LEVEL when called from a routine. */
  connectInterrupt(opts: ConnectInterruptOptions): InterruptObject {
    if (this.stopError) throw new DriverStoppedError('driver stopped by a bug check; connectInterrupt refused', {}, { cause: this.stopError });
    requireIrqlIfInRoutine(this, 'IoConnectInterruptEx', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    return this.interrupts.connect(opts);
  }

  /**
   * KeSynchronizeExecution (NdisMSynchronizeWithInterruptEx, WdfInterruptSynchronize): run the
   * callback at the synchronize IRQL holding the interrupt lock; returns the callback's boolean.
   */
  synchronizeExecution(interrupt: InterruptObject, callback: (context: unknown) => boolean | Promise<boolean>, context?: unknown): Promise<boolean> {
    return synchronizeExecution(this, interrupt, callback, context);
  }

  /** KeAcquireInterruptSpinLock: returns the old IRQL. A passive-level interrupt has no spin lock (0x13B). */
  acquireInterruptSpinLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptSpinLock(this, interrupt);
  }

  /** KeReleaseInterruptSpinLock: a preemption point (see lowerIrql); await it. */
  releaseInterruptSpinLock(interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
    return releaseInterruptSpinLock(this, interrupt, oldIrql);
  }

  /** WdfInterruptAcquireLock: the interrupt spin lock, or the passive-level lock of a passive interrupt. */
  acquireInterruptLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptLock(this, interrupt);
  }

  /** WdfInterruptReleaseLock: a preemption point where it lowers the IRQL (see lowerIrql); await it. */
  releaseInterruptLock(interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
    return releaseInterruptLock(this, interrupt, oldIrql);
  }

  /** Take an interrupt's lock at the caller's IRQL: undefined when it was free, else a promise that spins for it. */
  acquireInterruptLockFor(act: Activation, interrupt: InterruptObject): Promise<void> | undefined {
    return acquireInterruptLockFor(this, act, interrupt);
  }

  // ---------------------------------------------------------------- locks (shared by SpinLock and interrupt locks)

  /** KeInitializeSpinLock. */
  createSpinLock(name?: string): SpinLock {
    return new SpinLock(this, name);
  }

  /** Used by locks: 0xC4 / 0x1000 (self-deadlock) if `act`, or its processor at DISPATCH_LEVEL or above, already holds `lock`. */
  checkLockRecursion(act: Activation, lock: KernelLock, api: string): void {
    checkLockRecursion(this, act, lock, api);
  }

  /** Used by locks: 0xC4 / 0x1004 or 0x1007 unless `act` holds `lock`. */
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
   * KeInsertQueueDpc (any IRQL): false if it is already queued. It runs on its target processor, or
   * the caller's. Called below DISPATCH_LEVEL for the caller's own processor it is a preemption
   * point: the DPC has run when the (awaited) call returns. A plain boolean when nothing ran.
   */
  insertQueueDpc(dpc: Dpc, arg1?: unknown, arg2?: unknown): boolean | Promise<boolean> {
    return insertQueueDpc(this, dpc, arg1, arg2);
  }

  /**
   * Used by the kernel and the frameworks: queue `dpc` (KeInsertQueueDpc's queuing) and let its
   * processor take it when it can, without running it inside the call: a timer expiring, NDIS
   * queuing MiniportInterruptDPC for an ISR's result at DIRQL. False if it is already queued.
   */
  enqueueDpc(dpc: Dpc, arg1?: unknown, arg2?: unknown): boolean {
    return enqueueDpc(this, dpc, arg1, arg2);
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

  /** Used by the interrupt dispatcher after a line's ISRs: undefined when there is nothing to wait for. */
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

  /** KeBugCheckEx: stop the driver (report written, 'bugcheck' emitted) and throw the BugCheckError. */
  bugCheck(code: number, p1 = 0, p2 = 0, p3 = 0, p4 = 0, info: BugCheckInfo = {}): never {
    return this.stops.bugCheck(code, p1, p2, p3, p4, info);
  }

  /** Whether `err`, or an error in its cause chain, means the device is gone (asks the monitor). */
  isDeviceLoss(err: unknown): boolean {
    return this.stops.isDeviceLoss(err);
  }

  /**
   * The device went away under the driver (QEMU exited): stop with DIRQL_DEVICE_LOST, not a driver
   * fault; emitted as 'device-lost'. Returns the stop error; after an earlier stop, that one.
   */
  deviceLost(cause?: unknown): BugCheckError {
    return this.stops.stopForDeviceLoss(cause, undefined);
  }

  /** Host code met `err`: if the device is gone, stop with DIRQL_DEVICE_LOST and return that; else `err`. */
  hostFailed(err: unknown): unknown {
    return this.stops.hostFailed(err);
  }

  /** What every stop does to the kernel (called by the StopRecorder before it writes the report). */
  private stop(err: BugCheckError): void {
    this.stopError = err;
    this.lastReport = err.report;
    this.dispose();
    for (const t of [...this.timers]) t.disarm();
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
