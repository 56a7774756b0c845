import { kernelInternals, type KernelCore } from './core.ts';
import type { Dpc } from './dpc.ts';
import { enqueueDpc, liveActivation } from './dpc-queue.ts';
import { requireIrqlIfInRoutine } from './irql-control.ts';
import { Irql } from './irql.ts';
import type { Kernel } from './kernel.ts';

/**
 * KTIMER: when it expires its DPC is queued to the DPC's target processor, else to the processor
 * that set the timer (each processor keeps its own timer table and expires its own timers; host
 * code sets them on processor 0). Not to whichever code happens to run when the host's clock fires:
 * that would differ between a session and its replay. Timers never keep the host process alive and
 * are cancelled by a bug check.
 */
export class KernelTimer {
  readonly name: string;
  private disarmClock: (() => void) | undefined;
  private periodic = false;
  private dpc: Dpc | undefined;
  /** The processor whose timer table it is in: the one that set it. */
  private setOn = 0;
  private readonly kernel: KernelCore;
  /** Times it expired. */
  expirations = 0;

  /** KeInitializeTimer. */
  constructor(kernel: Kernel, name = 'Timer') {
    this.kernel = kernelInternals(kernel);
    this.name = name;
  }

  get isSet(): boolean {
    return this.disarmClock !== undefined;
  }

  /** KeSetTimerEx (any IRQL <= DISPATCH_LEVEL): true if the timer was already set (it is reset). */
  set(dueMs: number, periodMs = 0, dpc?: Dpc): boolean {
    // IrqlKeDispatchLte, when driver code calls; host code may set and cancel timers at will.
    requireIrqlIfInRoutine(this.kernel, 'KeSetTimerEx', Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    const wasSet = this.disarm();
    if (this.kernel.stopped) return wasSet;
    this.dpc = dpc;
    this.setOn = liveActivation(this.kernel)?.processor.index ?? 0;
    this.periodic = periodMs > 0;
    this.disarmClock = this.kernel.clock.arm(this.name, Math.max(0, dueMs), this.periodic ? periodMs : 0, () => {
      if (!this.periodic) this.disarmClock = undefined;
      this.expire();
    });
    this.kernel.timers.add(this);
    return wasSet;
  }

  /** KeCancelTimer: true if it was set. */
  cancel(): boolean {
    requireIrqlIfInRoutine(this.kernel, 'KeCancelTimer', Irql.PASSIVE_LEVEL, Irql.DISPATCH_LEVEL);
    return this.disarm();
  }

  /** KeCancelTimer for the kernel itself (a bug check cancelling every timer): no IRQL check. */
  disarm(): boolean {
    const disarm = this.disarmClock;
    if (!disarm) return false;
    this.disarmClock = undefined;
    disarm();
    this.kernel.timers.delete(this);
    return true;
  }

  private expire(): void {
    if (this.kernel.stopped) return;
    this.expirations++;
    this.kernel.trace.record('timer', this.name);
    if (!this.disarmClock) this.kernel.timers.delete(this);
    if (this.dpc) enqueueDpc(this.kernel, this.dpc, undefined, undefined, this.setOn);
  }
}
