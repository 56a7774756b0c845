import type { Processor } from './processor.ts';

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
