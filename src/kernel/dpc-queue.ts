import { Activation, activationStore } from './activation.ts';
import { BugCheckCode } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import type { Dpc } from './dpc.ts';
import { KernelError } from './errors.ts';
import { requireIrqlIfInRoutine } from './irql-control.ts';
import { Irql } from './irql.ts';
import type { Processor } from './processor.ts';
import { isThenable } from './thenable.ts';

// The per-processor DPC queues: KeInsertQueueDpc, KeRemoveQueueDpc, the drain, KeFlushQueuedDpcs.

/**
 * KeInsertQueueDpc (any IRQL), for `kernel.insertQueueDpc`: false if it is already queued (it stays
 * queued once, with its first arguments). It runs on its target processor, or on the caller's.
 * Called below DISPATCH_LEVEL for the caller's own processor, the DPC software interrupt is taken at
 * once, as on Windows: the returned promise settles after the DPC (and anything else pending) ran.
 */
export function insertQueueDpc(k: KernelCore, dpc: Dpc, arg1: unknown, arg2: unknown): boolean | Promise<boolean> {
  const act = liveActivation(k);
  const queued = queue(k, dpc, act, arg1, arg2);
  if (act !== undefined && act.irql < Irql.DISPATCH_LEVEL && dpc.queuedOn === act.processor) {
    const running = k.irqlLowered(act);
    if (running) return running.then(() => queued);
  } else if (queued) {
    k.requestService(dpc.queuedOn!);
  }
  return queued;
}

/**
 * For `kernel.enqueueDpc`: queue it and ask its processor to take it when it can. `processor`: where
 * it goes when it has no target (an expired timer's: the processor that set it), else the caller's.
 */
export function enqueueDpc(k: KernelCore, dpc: Dpc, arg1: unknown, arg2: unknown, processor?: number): boolean {
  if (!queue(k, dpc, liveActivation(k), arg1, arg2, processor)) return false;
  k.requestService(dpc.queuedOn!);
  return true;
}

/** The activation running now, if it has not ended (the caller of a DPC queueing or a timer setting). */
export function liveActivation(k: KernelCore): Activation | undefined {
  const act = k.current();
  return act !== undefined && !act.ended ? act : undefined;
}

/** Put `dpc` in the queue of its target processor (else `processor`, else the caller's, else 0); false if it is already queued. */
function queue(k: KernelCore, dpc: Dpc, act: Activation | undefined, arg1: unknown, arg2: unknown, processor?: number): boolean {
  const stopped = k.stopped;
  if (stopped) throw stopped;
  if (dpc.queuedOn) return false;
  const target = dpc.targetProcessor ?? processor ?? (act ? act.processor.index : 0);
  const P = k.processors[target];
  if (!P) throw new KernelError(`DPC ${dpc.name} targets processor ${target}, which does not exist`, { dpc: dpc.name });
  dpc.arg1 = arg1;
  dpc.arg2 = arg2;
  dpc.queuedOn = P;
  if (dpc.importance === 'high') P.dpcQueue.unshift(dpc);
  else P.dpcQueue.push(dpc);
  k.trace.record('dpc-q', dpc.name, target);
  return true;
}

/** Take `dpc` out of its queue (KeRemoveQueueDpc, disconnect): true if it was queued. */
export function dequeueDpc(k: KernelCore, dpc: Dpc): boolean {
  const P = dpc.queuedOn;
  if (!P) return false;
  const i = P.dpcQueue.indexOf(dpc);
  if (i >= 0) P.dpcQueue.splice(i, 1);
  dpc.queuedOn = null;
  dpc.arg1 = dpc.arg2 = undefined;
  k.scheduler.wake();
  return true;
}

/** KeFlushQueuedDpcs (PASSIVE_LEVEL): returns once every queued DPC has run. */
export async function flushQueuedDpcs(k: KernelCore): Promise<void> {
  requireIrqlIfInRoutine(k, 'KeFlushQueuedDpcs', Irql.PASSIVE_LEVEL, Irql.PASSIVE_LEVEL);
  await k.preemption.waitUntil(() => k.processors.every((P) => P.dpcQueue.length === 0 && !P.nested.some((a) => a.kind === 'dpc')), 'flushing queued DPCs');
}

/**
 * Runs every DPC queued on `P`, one after the other, at DISPATCH_LEVEL, in one activation nested on
 * the processor (as the kernel's DPC drain loop does: the IRQL does not drop between DPCs, which is
 * what the cumulative DPC watchdog measures).
 */
export async function drainDpcQueue(kernel: KernelCore, P: Processor): Promise<void> {
  const act = new Activation('dpc', P, Irql.DISPATCH_LEVEL, 'DPC queue');
  P.nested.push(act);
  P.noteIrql();
  try {
    await activationStore.run(act, async () => {
      while (P.dpcQueue.length > 0 && !kernel.stopped) {
        const dpc = P.dpcQueue.shift()!;
        dpc.queuedOn = null;
        const { arg1, arg2 } = dpc;
        dpc.arg1 = dpc.arg2 = undefined;
        dpc.running++;
        const now = performance.now();
        const rec = { name: dpc.name, irql: Irql.DISPATCH_LEVEL, since: now };
        act.routines.push(rec);
        act.clockStart = now;
        kernel.trace.record('dpc', dpc.name, P.index);
        if (kernel.observer) kernel.observer.routineEntered(act, 'dpc', rec);
        try {
          const r = dpc.routine(dpc, dpc.context, arg1, arg2);
          if (isThenable(r)) await r;
        } catch (err) {
          throw kernel.stops.routineFailed(act, err);
        } finally {
          dpc.running--;
          act.routines.pop();
          if (kernel.observer) kernel.observer.routineReturned(act, rec);
          kernel.scheduler.wake();
        }
        if (act.irql !== Irql.DISPATCH_LEVEL) {
          kernel.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (Irql.DISPATCH_LEVEL << 8) | 2, dpc.id, 0, 0, {
            message: `DPC ${dpc.name} returned at IRQL ${act.irql}; DPCs must return at DISPATCH_LEVEL (a spin lock left held, or an IRQL not restored)`,
          });
        }
        kernel.watchdog.check(P);
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
