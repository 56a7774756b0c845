import type { Activation } from './activation.ts';
import type { KernelCore } from './core.ts';
import { drainDpcQueue } from './dpc-queue.ts';
import type { InterruptController } from './interrupt-dispatch.ts';
import { Irql } from './irql.ts';
import type { Processor } from './processor.ts';
import { DELIVER_LATER, MAX_DEFERRALS, type SchedulePolicy } from './schedule-policy.ts';
import type { Scheduler } from './scheduler.ts';
import type { StopRecorder } from './stop-recorder.ts';

/** Whether `act` may run now: the innermost activation of its processor, or a thread nobody else holds the processor against. */
export function canRun(act: Activation): boolean {
  if (act.ended) return true;
  const P = act.processor;
  if (act.kind !== 'thread') return P.nested[P.nested.length - 1] === act;
  if (P.nested.length > 0) return false;
  return P.owner === null || P.owner === act;
}

/**
 * Preemption points and processor service: where a routine gives way to interrupts and DPCs
 * pending on its processor (and, with several processors, to the scheduler), and how a processor
 * takes pending work on its own when nobody reaches a preemption point.
 */
export class Preemption {
  private readonly kernel: KernelCore;
  private readonly interrupts: InterruptController;
  private readonly stops: StopRecorder;
  private readonly scheduler: Scheduler;
  private readonly multi: boolean;
  private readonly policy: SchedulePolicy | null;
  /** Per processor: preemption points in a row at which the policy left a deliverable interrupt pending. */
  private readonly deferrals: number[];

  constructor(kernel: KernelCore, interrupts: InterruptController, stops: StopRecorder) {
    this.kernel = kernel;
    this.interrupts = interrupts;
    this.stops = stops;
    this.scheduler = kernel.scheduler;
    this.multi = kernel.processors.length > 1;
    this.policy = kernel.schedule;
    this.deferrals = kernel.processors.map(() => 0);
  }

  /** Interrupts above P's IRQL pending for it, or DPCs queued while it is below DISPATCH_LEVEL. */
  hasWork(P: Processor): boolean {
    if (this.kernel.stopped) return false;
    const irql = P.irql;
    if (this.interrupts.hasDeliverable(P, irql)) return true;
    return irql < Irql.DISPATCH_LEVEL && P.dpcQueue.length > 0;
  }

  /**
   * A preemption point of `act` that has something to do (KernelCore.preempt decides, on its fast path):
   * yield to the seeded scheduler first when asked (several processors), wait while something
   * nested above `act` runs, take pending interrupts and DPCs on its processor.
   */
  async preemptSlow(act: Activation, yieldToScheduler: boolean): Promise<void> {
    if (this.multi && yieldToScheduler) await this.scheduler.park(act, undefined, 'preempted');
    for (;;) {
      const stopped = this.kernel.stopped;
      if (stopped) throw stopped;
      if (!canRun(act)) {
        await this.scheduler.park(act, undefined, 'preempted');
        continue;
      }
      const P = act.processor;
      if (this.hasWork(P)) {
        if (this.policy !== null && this.deferInterrupt(act)) {
          if (P.irql >= Irql.DISPATCH_LEVEL || P.dpcQueue.length === 0) return;
          await drainDpcQueue(this.kernel, P);
          continue;
        }
        await this.service(P);
        continue;
      }
      return;
    }
  }

  /**
   * The policy's `deliver` decision for a deliverable interrupt at a preemption point of `act`:
   * true to leave it pending. Past MAX_DEFERRALS in a row on one processor it is delivered
   * without asking (a spinning routine must not livelock).
   */
  private deferInterrupt(act: Activation): boolean {
    const P = act.processor;
    const line = this.interrupts.pickLine(P, P.irql);
    if (line === null) return false;
    if (this.deferrals[P.index]! < MAX_DEFERRALS && this.policy!.decide('deliver', [`line ${line.line}`, `${act.kind}:${act.routine}@${P.index}`]) === DELIVER_LATER) {
      this.deferrals[P.index]!++;
      return true;
    }
    this.deferrals[P.index] = 0;
    return false;
  }

  /** Take interrupts (highest DIRQL first) and drain DPCs on P, nested on whatever P runs. */
  private async service(P: Processor): Promise<void> {
    for (;;) {
      if (this.kernel.stopped) return;
      const irql = P.irql;
      const line = this.interrupts.pickLine(P, irql);
      if (line) {
        await this.interrupts.dispatch(P, line);
        continue;
      }
      if (irql < Irql.DISPATCH_LEVEL && P.dpcQueue.length > 0) {
        await drainDpcQueue(this.kernel, P);
        continue;
      }
      return;
    }
  }

  /**
   * P has pending work (KernelCore.requestService checked) and nobody may reach a preemption point soon:
   * let it take the work on its own. With one processor that runs nothing, there is no choice for
   * the scheduler to make, so the work starts on a microtask (as soon as the code that raised the
   * line or queued the DPC returns) rather than on the next dispatch tick, which would first wait
   * for every other I/O callback of this event-loop turn (the wire's datagrams, for one). With
   * several, the start is the scheduler's turn (parkService), which a recording writes.
   */
  scheduleService(P: Processor): void {
    P.serviceRequested = true;
    if (!this.multi && P.idle) {
      queueMicrotask(() => this.startService(P));
      return;
    }
    this.scheduler
      .parkService(P.index)
      .then(() => this.startService(P))
      .catch((err: unknown) => this.stops.detachedFailure(err, P));
  }

  private startService(P: Processor): void {
    P.serviceRequested = false;
    this.scheduler.wake();
    this.service(P).catch((err: unknown) => this.stops.detachedFailure(err, P));
  }

  /** Spin (or wait, below DISPATCH_LEVEL) until `ready`, taking interrupts meanwhile. */
  async spinUntil(act: Activation, ready: () => boolean, state: string): Promise<void> {
    for (;;) {
      const p = this.kernel.preempt(act, false);
      if (p) await p;
      if (ready()) return;
      await this.scheduler.park(act, () => ready() || this.hasWork(act.processor), state);
    }
  }

  /** Wait (host code or a thread at <= APC_LEVEL) until `cond` holds. */
  async waitUntil(cond: () => boolean, state: string): Promise<void> {
    const k = this.kernel;
    const act = k.current();
    const live = act && !act.ended ? act : null;
    while (!cond()) {
      const stopped = k.stopped;
      if (stopped) {
        if (live) throw stopped;
        return;
      }
      await this.scheduler.park(live, cond, state);
    }
  }
}
