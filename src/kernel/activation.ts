import { AsyncLocalStorage } from 'node:async_hooks';
import type { Processor } from './processor.ts';
import type { RoutineSnapshot } from './bugcheck.ts';
import type { KernelLock } from './locks.ts';

export type ActivationKind = 'thread' | 'isr' | 'dpc';

/** A routine call inside an activation (the activation's own routine, or a callback it made). */
export interface RoutineRecord {
  readonly name: string;
  readonly irql: number;
  /** performance.now() at entry. */
  readonly since: number;
}

let nextActivationId = 1;

/**
 * One flow of control the kernel runs on a processor: a system thread call (MiniportInitializeEx,
 * an OID request), one interrupt dispatch (the ISRs of a line), or one DPC drain. It is the value
 * kept in AsyncLocalStorage, so that driver code knows its processor and IRQL across awaits.
 * Callbacks it makes (a synchronize routine, MiniportInterruptDPC called by NDIS' DPC) stay in the
 * same activation and only push a RoutineRecord.
 */
export class Activation {
  readonly id = nextActivationId++;
  readonly kind: ActivationKind;
  processor: Processor;
  irql: number;
  readonly baseIrql: number;
  readonly routines: RoutineRecord[] = [];
  /** What it is blocked on, for reports (undefined while it runs). */
  state: string | undefined;
  ended = false;
  /** The kernel locks it holds, in acquisition order (kept only while the lockset verifier is on). */
  readonly heldLocks: KernelLock[] = [];
  /** performance.now() when the current ISR/DPC started (the DPC watchdog's single-routine clock). */
  clockStart: number;

  constructor(kind: ActivationKind, processor: Processor, irql: number, name: string) {
    this.kind = kind;
    this.processor = processor;
    this.irql = irql;
    this.baseIrql = irql;
    const now = performance.now();
    this.clockStart = now;
    this.routines.push({ name, irql, since: now });
  }

  get name(): string {
    return this.routines[0]?.name ?? '?';
  }

  /** The innermost routine running in this activation. */
  get routine(): string {
    return this.routines[this.routines.length - 1]?.name ?? '?';
  }

  snapshot(now = performance.now()): RoutineSnapshot[] {
    return this.routines.map((r, i) => {
      const last = i === this.routines.length - 1;
      const snap: RoutineSnapshot = {
        kind: i === 0 ? this.kind : 'call',
        name: r.name,
        irql: last ? this.irql : r.irql,
        since: new Date(performance.timeOrigin + r.since).toISOString(),
        runningForUs: Math.round((now - r.since) * 1000),
      };
      return last && this.state ? { ...snap, state: this.state } : snap;
    });
  }
}

/**
 * The activation the running code belongs to, for every kernel in the process: one
 * AsyncLocalStorage, not one per kernel. Node keeps each enabled instance in a process-wide list
 * that every promise creation walks, and never drops one that is not disabled; a kernel of its own
 * made every later promise in the process pay for every kernel ever created (benchmarks and tests
 * create many). Kernel.current() keeps kernels apart: an activation counts only for the kernel whose
 * processor it runs on.
 */
export const activationStore = new AsyncLocalStorage<Activation>();
