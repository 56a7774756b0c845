import { Activation } from './activation.ts';
import { Irql } from './irql.ts';
import { BugCheckCode } from './bugcheck.ts';
import type { Processor } from './processor.ts';
import type { Kernel } from './kernel.ts';
import { isThenable } from './thenable.ts';

/** KDEFERRED_ROUTINE: runs at DISPATCH_LEVEL on the processor the DPC was queued to. */
export type DeferredRoutine = (dpc: Dpc, context: unknown, arg1: unknown, arg2: unknown) => void | Promise<void>;

/** KeSetImportanceDpc: high goes to the head of the queue, the others to the tail. */
export type DpcImportance = 'low' | 'medium' | 'high';

let nextDpcId = 1;

/** A deferred procedure call object (KDPC). Initialise once, queue many times with kernel.insertQueueDpc. */
export class Dpc {
  readonly id = nextDpcId++;
  readonly name: string;
  readonly routine: DeferredRoutine;
  readonly context: unknown;
  /** KeSetTargetProcessorDpc; null = the processor that queues it. */
  targetProcessor: number | null = null;
  importance: DpcImportance = 'medium';
  /** The queue it sits in, or null (the "Inserted" flag of a KDPC). */
  queuedOn: Processor | null = null;
  arg1: unknown;
  arg2: unknown;
  /** Invocations in progress (0 or 1 per processor). */
  running = 0;

  /** KeInitializeDpc. */
  constructor(routine: DeferredRoutine, context?: unknown, name?: string) {
    this.routine = routine;
    this.context = context;
    this.name = name ?? (routine.name || `Dpc#${this.id}`);
  }

  /** KeSetTargetProcessorDpc. */
  setTargetProcessor(processor: number): void {
    if (!Number.isInteger(processor) || processor < 0) throw new RangeError(`invalid target processor ${processor} for ${this.name}`);
    this.targetProcessor = processor;
  }

  /** KeSetImportanceDpc. */
  setImportance(importance: DpcImportance): void {
    this.importance = importance;
  }

  get queued(): boolean {
    return this.queuedOn !== null;
  }
}

/**
 * Runs every DPC queued on `P`, one after the other, at DISPATCH_LEVEL, in one activation nested on
 * the processor (as the kernel's DPC drain loop does: the IRQL does not drop between DPCs, which is
 * what the cumulative DPC watchdog measures).
 */
export async function drainDpcQueue(kernel: Kernel, P: Processor): Promise<void> {
  const act = new Activation('dpc', P, Irql.DISPATCH_LEVEL, 'DPC queue');
  P.nested.push(act);
  P.noteIrql();
  try {
    await kernel.runIn(act, async () => {
      while (P.dpcQueue.length > 0 && !kernel.stopped) {
        const dpc = P.dpcQueue.shift()!;
        dpc.queuedOn = null;
        const { arg1, arg2 } = dpc;
        dpc.arg1 = dpc.arg2 = undefined;
        dpc.running++;
        const now = performance.now();
        act.routines.push({ name: dpc.name, irql: Irql.DISPATCH_LEVEL, since: now });
        act.clockStart = now;
        kernel.trace.record('dpc', dpc.name, P.index);
        try {
          const r = dpc.routine(dpc, dpc.context, arg1, arg2);
          if (isThenable(r)) await r;
        } catch (err) {
          throw kernel.routineFailed(act, err);
        } finally {
          dpc.running--;
          act.routines.pop();
          kernel.scheduler.wake();
        }
        if (act.irql !== Irql.DISPATCH_LEVEL) {
          kernel.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (Irql.DISPATCH_LEVEL << 8) | 2, dpc.id, 0, 0, {
            message: `DPC ${dpc.name} returned at IRQL ${act.irql}; DPCs must return at DISPATCH_LEVEL (a spin lock left held, or an IRQL not restored)`,
          });
        }
        kernel.checkWatchdog(P);
      }
    });
  } finally {
    act.ended = true;
    const i = P.nested.lastIndexOf(act);
    if (i >= 0) P.nested.splice(i, 1);
    P.noteIrql();
    kernel.scheduler.wake();
  }
}
