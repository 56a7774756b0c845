import { EventEmitter } from 'node:events';
import type { Activation } from './activation.ts';
import type { BugCheckError, BugCheckInfo, BugCheckReport } from './bugcheck.ts';
import { KernelCore } from './core.ts';
import type { KernelClock } from './clock.ts';
import type { Dpc } from './dpc.ts';
import { dequeueDpc, enqueueDpc, flushQueuedDpcs, insertQueueDpc } from './dpc-queue.ts';
import { DriverStoppedError } from './errors.ts';
import type { ConnectInterruptOptions, InterruptObject } from './interrupt.ts';
import { Irql } from './irql.ts';
import { lowerIrql, raiseIrql, requireIrqlIfInRoutine, requireIrqlOf } from './irql-control.ts';
import type { KernelLimits, KernelOptions } from './kernel-options.ts';
import type { KernelObserver } from './observer.ts';
import type { Processor } from './processor.ts';
import { callRoutine, callRoutineInline, runAtPassive, runOnChosenProcessor, runOnProcessor, runOnProcessorInline } from './routines.ts';
import type { Scheduler } from './scheduler.ts';
import { SpinLock } from './spin-lock.ts';
import { acquireInterruptLock, acquireInterruptSpinLock, releaseInterruptLock, releaseInterruptSpinLock, synchronizeExecution } from './synchronize.ts';
import type { TraceBuffer } from './trace.ts';
import type { Verifier } from './verifier.ts';
import { TIME_INCREMENT, timeReadings } from './time-readings.ts';
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
 * This class is the facade every caller uses. Its members are the Windows API (the Ke and Io
 * routines, each named in its doc comment) and, in the section marked so, what the host and the
 * framework facades need besides. The state and the plumbing the files beside it share are in a
 * private KernelCore (core.ts); each concern lives in a file of its own (src/kernel/README.md).
 */
export class Kernel extends EventEmitter {
  // For the host and the framework facades (not Windows API): the kernel's parts they read.
  readonly processors: readonly Processor[];
  readonly seed: number;
  readonly trace: TraceBuffer;
  readonly scheduler: Scheduler;
  readonly verifier: Verifier;
  readonly limits: Readonly<Required<KernelLimits>>;
  /** Where the kernel's timers, readings and time-limit decisions come from (real; a recording's; a replay's). */
  readonly clock: KernelClock;
  /** Resolves with the report (files written) once the driver has bug-checked. Never rejects. */
  readonly bugCheckReport: Promise<BugCheckReport>;
  readonly #core: KernelCore;

  constructor(opts: KernelOptions = {}) {
    super();
    const core = new KernelCore(this, opts);
    this.#core = core;
    this.processors = core.processors;
    this.seed = core.seed;
    this.trace = core.trace;
    this.scheduler = core.scheduler;
    this.verifier = core.verifier;
    this.limits = core.limits;
    this.clock = core.clock;
    this.bugCheckReport = core.stops.report;
  }

  // ================================================================ the Windows API

  // ---------------------------------------------------------------- IRQL and processors

  /** KeGetCurrentIrql. */
  currentIrql(): number {
    return this.#core.activationFor('KeGetCurrentIrql').irql;
  }

  /** KeGetCurrentProcessorNumber. */
  currentProcessor(): number {
    return this.#core.activationFor('KeGetCurrentProcessorNumber').processor.index;
  }

  /** KeQueryActiveProcessorCount. */
  get processorCount(): number {
    return this.processors.length;
  }

  /** KeRaiseIrql: returns the old IRQL; raising to a lower level is a bug check. */
  raiseIrql(newIrql: number): number {
    return raiseIrql(this.#core, newIrql);
  }

  /**
   * KeLowerIrql: lowering to a higher level, or below the level the routine was entered at, is a
   * bug check. A preemption point: an interrupt pending above the new IRQL is taken, and below
   * DISPATCH_LEVEL queued DPCs run, before it returns. Await it (undefined when nothing was pending).
   */
  lowerIrql(newIrql: number): Promise<void> | undefined {
    return lowerIrql(this.#core, newIrql);
  }

  // ---------------------------------------------------------------- time (any IRQL)

  /** KeQueryInterruptTime: 100-ns units since boot, as of the last clock tick (15.625 ms). */
  queryInterruptTime(): bigint {
    return timeReadings.interruptTime(this.#core.clock, false);
  }

  /** KeQueryInterruptTimePrecise: 100-ns units since boot, now. */
  queryInterruptTimePrecise(): bigint {
    return timeReadings.interruptTime(this.#core.clock, true);
  }

  /** KeQuerySystemTime: 100-ns units since 1601-01-01 UTC, as of the last clock tick. */
  querySystemTime(): bigint {
    return timeReadings.systemTime(this.#core.clock, false);
  }

  /** KeQuerySystemTimePrecise: 100-ns units since 1601-01-01 UTC, now. */
  querySystemTimePrecise(): bigint {
    return timeReadings.systemTime(this.#core.clock, true);
  }

  /** KeQueryTickCount: clock ticks since boot. */
  queryTickCount(): bigint {
    return timeReadings.tickCount(this.#core.clock);
  }

  /** KeQueryTimeIncrement: 100-ns units a clock tick adds to the interrupt time (156250). */
  queryTimeIncrement(): number {
    return TIME_INCREMENT;
  }

  /** KeQueryPerformanceCounter: the counter, and its frequency (the PerformanceFrequency out parameter), in counts a second. */
  queryPerformanceCounter(): { counter: bigint; frequency: bigint } {
    return timeReadings.performanceCounter(this.#core.clock);
  }

  // ---------------------------------------------------------------- waiting and stalling

  /**
   * KeWaitForSingleObject on anything: a thread (<= APC_LEVEL) gives up its processor while
   * `promise` is pending and resumes through the scheduler. Driver code should await nothing else.
   */
  wait<T>(promise: Promise<T>, what = 'an object'): Promise<T> {
    return wait(this.#core, promise, what);
  }

  /** KeDelayExecutionThread / NdisMSleep (<= APC_LEVEL). */
  delayExecution(ms: number): Promise<void> {
    return this.wait(this.#core.clock.delay(ms), `${ms} ms`);
  }

  /** KeStallExecutionProcessor (any IRQL): holds the processor, never returns early; a preemption point before and after. */
  stallExecutionProcessor(microseconds: number): Promise<void> {
    return stallExecutionProcessor(this.#core, microseconds);
  }

  // ---------------------------------------------------------------- interrupts

  /** IoConnectInterruptEx (line based). At PASSIVE_LEVEL when called from a routine. */
  connectInterrupt(opts: ConnectInterruptOptions): InterruptObject {
    const core = this.#core;
    if (core.stopped) throw new DriverStoppedError('driver stopped by a bug check; connectInterrupt refused', {}, { cause: core.stopped });
    requireIrqlIfInRoutine(core, 'IoConnectInterruptEx', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
    return core.interrupts.connect(opts);
  }

  /**
   * KeSynchronizeExecution (NdisMSynchronizeWithInterruptEx, WdfInterruptSynchronize): run the
   * callback at the synchronize IRQL holding the interrupt lock; returns the callback's boolean.
   */
  synchronizeExecution(interrupt: InterruptObject, callback: (context: unknown) => boolean | Promise<boolean>, context?: unknown): Promise<boolean> {
    return synchronizeExecution(this.#core, interrupt, callback, context);
  }

  /** KeAcquireInterruptSpinLock: returns the old IRQL. A passive-level interrupt has no spin lock (0x13B). */
  acquireInterruptSpinLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptSpinLock(this.#core, interrupt);
  }

  /** KeReleaseInterruptSpinLock: a preemption point (see lowerIrql); await it. */
  releaseInterruptSpinLock(interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
    return releaseInterruptSpinLock(this.#core, interrupt, oldIrql);
  }

  /** WdfInterruptAcquireLock: the interrupt spin lock, or the passive-level lock of a passive interrupt. */
  acquireInterruptLock(interrupt: InterruptObject): Promise<number> {
    return acquireInterruptLock(this.#core, interrupt);
  }

  /** WdfInterruptReleaseLock: a preemption point where it lowers the IRQL (see lowerIrql); await it. */
  releaseInterruptLock(interrupt: InterruptObject, oldIrql: number): Promise<void> | undefined {
    return releaseInterruptLock(this.#core, interrupt, oldIrql);
  }

  // ---------------------------------------------------------------- spin locks and DPCs

  /** KeInitializeSpinLock. */
  createSpinLock(name?: string): SpinLock {
    return new SpinLock(this, name);
  }

  /**
   * KeInsertQueueDpc (any IRQL): false if it is already queued. It runs on its target processor, or
   * the caller's. Called below DISPATCH_LEVEL for the caller's own processor it is a preemption
   * point: the DPC has run when the (awaited) call returns. A plain boolean when nothing ran.
   */
  insertQueueDpc(dpc: Dpc, arg1?: unknown, arg2?: unknown): boolean | Promise<boolean> {
    return insertQueueDpc(this.#core, dpc, arg1, arg2);
  }

  /** KeRemoveQueueDpc: true if it was queued. */
  removeQueueDpc(dpc: Dpc): boolean {
    return dequeueDpc(this.#core, dpc);
  }

  /** KeFlushQueuedDpcs (PASSIVE_LEVEL): returns once every queued DPC has run. */
  flushQueuedDpcs(): Promise<void> {
    return flushQueuedDpcs(this.#core);
  }

  // ---------------------------------------------------------------- bug checks

  /** KeBugCheckEx: stop the driver (report written, 'bugcheck' emitted) and throw the BugCheckError. */
  bugCheck(code: number, p1 = 0, p2 = 0, p3 = 0, p4 = 0, info: BugCheckInfo = {}): never {
    return this.#core.stops.bugCheck(code, p1, p2, p3, p4, info);
  }

  // ================================================================ for the host and the framework facades

  // ---------------------------------------------------------------- state

  /** The bug check error once the driver has crashed, else null. */
  get stopped(): BugCheckError | null {
    return this.#core.stopped;
  }

  /** The report of the bug check, once there was one. */
  get lastBugCheck(): BugCheckReport | undefined {
    return this.#core.stopped?.report;
  }

  get connectedInterrupts(): InterruptObject[] {
    return this.#core.interrupts.connected;
  }

  /**
   * Attach a run observer (src/timeline's RunRecorder): told of ISRs, DPCs, synchronize callbacks,
   * lock holds, IRQL changes and register accesses as they happen. One at a time; returns the
   * function that detaches it. With none attached each of those paths pays one null check.
   */
  observe(observer: KernelObserver): () => void {
    return this.#core.observe(observer);
  }

  /** The activation (routine, processor, IRQL) the calling code runs in, if any. */
  current(): Activation | undefined {
    return this.#core.current();
  }

  /** The caller's activation for a call to `api` (a facade entry point); throws if the driver stopped or there is none. */
  activationFor(api: string): Activation {
    return this.#core.activationFor(api);
  }

  /** Every facade entry point calls this with the IRQL range Microsoft documents for it (outside it 0xC4, irql-control.ts). */
  requireIrql(api: string, min: number, max: number): void {
    this.#core.requireIrql(api, min, max);
  }

  /** requireIrql for a caller that already holds its activation (saves looking it up again). */
  requireIrqlOf(act: Activation, api: string, min: number, max: number): void {
    requireIrqlOf(this.#core, act, api, min, max);
  }

  // ---------------------------------------------------------------- running routines

  /**
   * Run a driver routine as a thread call on processor `n`, starting at `irql` (PASSIVE, APC or
   * DISPATCH_LEVEL). An escaping exception is 0x7E; returning at another IRQL is 0xC8.
   */
  runOnProcessor<T>(n: number, irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
    return runOnProcessor(this.#core, n, irql, name, fn);
  }

  /**
   * runOnProcessor for a hot path: a plain value when the call could start at once and `fn`
   * returned one (it ran to its end inside this call, with the same checks); else a promise.
   */
  runOnProcessorInline<T>(n: number, irql: number, name: string, fn: () => T | Promise<T>): T | Promise<T> {
    return runOnProcessorInline(this.#core, n, irql, name, fn);
  }

  /**
   * runOnProcessor on a processor the scheduler picks (an idle one if there is one): a facade's
   * thread call that no processor in particular makes (a protocol's send, a queue's request).
   */
  runOnChosenProcessor<T>(irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
    return runOnChosenProcessor(this.#core, irql, name, fn);
  }

  /** A system-thread call (MiniportInitializeEx, MiniportHaltEx, an OID request) at PASSIVE_LEVEL on a processor the scheduler picks. */
  runAtPassive<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return runAtPassive(this.#core, name, fn);
  }

  /** Call a driver callback inside the current routine: it shows in the chain of routines and must return at its IRQL. */
  callRoutine<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    return callRoutine(this.#core, name, fn);
  }

  /** callRoutine for a hot path: a plain value when `fn` returned one (after the same checks); else a promise. */
  callRoutineInline<T>(name: string, fn: () => T | Promise<T>): T | Promise<T> {
    return callRoutineInline(this.#core, name, fn);
  }

  /** Wait (host code or a thread at <= APC_LEVEL) until `cond` holds. */
  waitUntil(cond: () => boolean, state: string): Promise<void> {
    return this.#core.preemption.waitUntil(cond, state);
  }

  /**
   * Used by the frameworks: queue `dpc` (KeInsertQueueDpc's queuing) and let its processor take it
   * when it can, without running it inside the call: NDIS queuing MiniportInterruptDPC for an ISR's
   * result at DIRQL. False if it is already queued.
   */
  enqueueDpc(dpc: Dpc, arg1?: unknown, arg2?: unknown): boolean {
    return enqueueDpc(this.#core, dpc, arg1, arg2);
  }

  // ---------------------------------------------------------------- quiescence

  /**
   * Some processor was asked to take an interrupt or a DPC and has not started on it yet (host code:
   * a replay lets it start before the host does what, on QEMU, came a while later).
   */
  get servicePending(): boolean {
    return this.#core.processors.some((P) => P.serviceRequested);
  }

  /** No ISR or DPC running or queued, no connected line asserted. */
  isQuiescent(): boolean {
    return this.#core.quiescence.isQuiescent();
  }

  /** Wait until no ISR or DPC is running or queued (posted writes settled first). Usable by host code and by threads. */
  quiesce(): Promise<void> {
    return this.#core.quiescence.quiesce();
  }

  /** quiesce(), and no thread call running either. Host code only. */
  idle(): Promise<void> {
    return this.#core.quiescence.idle();
  }

  // ---------------------------------------------------------------- the device going away, shutting down

  /** Whether `err`, or an error in its cause chain, means the device is gone (asks the monitor). */
  isDeviceLoss(err: unknown): boolean {
    return this.#core.stops.isDeviceLoss(err);
  }

  /**
   * The device went away under the driver (QEMU exited): stop with DIRQL_DEVICE_LOST, not a driver
   * fault; emitted as 'device-lost'. Returns the stop error; after an earlier stop, that one.
   */
  deviceLost(cause?: unknown): BugCheckError {
    return this.#core.stops.stopForDeviceLoss(cause, undefined);
  }

  /** Host code met `err`: if the device is gone, stop with DIRQL_DEVICE_LOST and return that; else `err`. */
  hostFailed(err: unknown): unknown {
    return this.#core.stops.hostFailed(err);
  }

  /** Stop listening to the lines and stop the watchdog timer (the host is shutting down). */
  dispose(): void {
    this.#core.dispose();
  }
}
