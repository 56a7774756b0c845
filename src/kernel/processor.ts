import { Irql, irqlName } from './irql.ts';
import type { Activation } from './activation.ts';
import type { Dpc } from './dpc.ts';
import type { ProcessorSnapshot, RoutineSnapshot } from './bugcheck.ts';
import type { KernelObserver } from './observer.ts';

/**
 * One logical processor. Its IRQL is the IRQL of what runs on top of it: the innermost interrupt
 * or DPC activation, else the thread that holds it at DISPATCH_LEVEL or above, else PASSIVE_LEVEL
 * (threads below DISPATCH_LEVEL share the processor the way time-sliced threads do).
 */
export class Processor {
  readonly index: number;
  /** ISR and DPC activations nested on this processor, innermost last. */
  readonly nested: Activation[] = [];
  /** The thread that raised this processor to DISPATCH_LEVEL or above (no other thread runs here meanwhile). */
  owner: Activation | null = null;
  /** Live thread activations assigned to this processor. */
  readonly threads = new Set<Activation>();
  readonly dpcQueue: Dpc[] = [];
  /** performance.now() when the IRQL last rose to DISPATCH_LEVEL or above; null below it (DPC watchdog). */
  dispatchSince: number | null = null;
  /** A service pass (take interrupts, drain DPCs) has been scheduled and has not started yet. */
  serviceRequested = false;
  /** The kernel's observer while one is attached (KernelCore.observe): told of every IRQL recomputation. */
  observer: KernelObserver | undefined = undefined;

  constructor(index: number) {
    this.index = index;
  }

  get irql(): number {
    const top = this.nested[this.nested.length - 1];
    if (top) return top.irql;
    return this.owner ? this.owner.irql : Irql.PASSIVE_LEVEL;
  }

  /** Nothing runs here: no interrupt, no DPC, no thread. */
  get idle(): boolean {
    return this.nested.length === 0 && this.owner === null && this.threads.size === 0;
  }

  /** Recompute the DPC-watchdog clock after any IRQL change on this processor. */
  noteIrql(now?: number): void {
    if (this.irql < Irql.DISPATCH_LEVEL) this.dispatchSince = null;
    else if (this.dispatchSince === null) this.dispatchSince = now ?? performance.now();
    const o = this.observer;
    if (o !== undefined) o.irqlChanged(this.index, this.irql);
  }

  /** What it is running: threads (the owner first), then nested interrupts and DPCs, outermost first. */
  running(now = performance.now()): RoutineSnapshot[] {
    const out: RoutineSnapshot[] = [];
    if (this.owner) out.push(...this.owner.snapshot(now));
    for (const t of this.threads) if (t !== this.owner) out.push(...t.snapshot(now));
    for (const a of this.nested) out.push(...a.snapshot(now));
    return out;
  }

  snapshot(now = performance.now()): ProcessorSnapshot {
    return {
      index: this.index,
      irql: this.irql,
      irqlName: irqlName(this.irql),
      routines: this.running(now),
      queuedDpcs: this.dpcQueue.map((d) => d.name),
    };
  }
}
