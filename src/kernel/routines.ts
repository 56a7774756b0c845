import { Activation, activationStore, type RoutineRecord } from './activation.ts';
import { BugCheckCode } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { DriverStoppedError, KernelError } from './errors.ts';
import { Irql, irqlName } from './irql.ts';
import { canRun } from './preemption.ts';
import type { Processor } from './processor.ts';
import { processorLabel } from './scheduler.ts';
import { isThenable } from './thenable.ts';

// Running driver routines: thread calls on a processor, and callbacks made inside a routine.

/**
 * For `kernel.runOnProcessor`: run a driver routine as a thread call on processor `n`, starting at
 * `irql` (PASSIVE_LEVEL for MiniportInitializeEx, DISPATCH_LEVEL for a send from a protocol at
 * DISPATCH). An exception escaping it is SYSTEM_THREAD_EXCEPTION_NOT_HANDLED; returning at another
 * IRQL is IRQL_UNEXPECTED_VALUE.
 */
export async function runOnProcessor<T>(k: KernelCore, n: number, irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
  const stopped = k.stopped;
  if (stopped) throw new DriverStoppedError(`driver stopped by bug check ${stopped.report.name}; ${name} refused`, { routine: name }, { cause: stopped });
  const P = k.processors[n];
  if (!P) throw new KernelError(`processor ${n} does not exist (${k.processors.length} configured)`, { routine: name });
  if (irql !== Irql.PASSIVE_LEVEL && irql !== Irql.APC_LEVEL && irql !== Irql.DISPATCH_LEVEL) {
    throw new KernelError(`a thread call starts at PASSIVE_LEVEL, APC_LEVEL or DISPATCH_LEVEL, not ${irqlName(irql)}`, { routine: name });
  }
  const act = new Activation('thread', P, irql, name);
  P.threads.add(act);
  return activationStore.run(act, async () => {
    try {
      let wait = k.processors.length > 1 || !canRun(act) || (irql >= Irql.DISPATCH_LEVEL && P.owner !== null);
      while (wait) {
        await k.scheduler.park(act, undefined, 'ready');
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
        throw k.stops.routineFailed(act, err);
      }
      checkThreadReturn(k, act, name);
      return result;
    } finally {
      endThread(k, act);
    }
  });
}

/**
 * runOnProcessor for a hot path (the upper edge's sends, one per batch of frames): when the thread
 * call can start at once (one processor, nothing nested on it, nobody owning it) and `fn` returns a
 * plain value, the call runs to its end inside this one and returns that value: the same
 * Activation, IRQL, checks and bookkeeping, without the promises and microtask turns of the async
 * form. Otherwise, and for what `fn` still has to wait for, it goes on as runOnProcessor does.
 */
export function runOnProcessorInline<T>(k: KernelCore, n: number, irql: number, name: string, fn: () => T | Promise<T>): T | Promise<T> {
  const P = k.processors[n];
  const startsNow =
    P !== undefined &&
    k.stopped === null &&
    k.processors.length === 1 &&
    (irql === Irql.PASSIVE_LEVEL || irql === Irql.APC_LEVEL || irql === Irql.DISPATCH_LEVEL) &&
    P.nested.length === 0 &&
    P.owner === null;
  if (!startsNow) return runOnProcessor(k, n, irql, name, fn);
  const act = new Activation('thread', P, irql, name);
  P.threads.add(act);
  return activationStore.run(act, () => {
    let result: T | Promise<T>;
    try {
      if (irql >= Irql.DISPATCH_LEVEL) {
        P.owner = act;
        P.noteIrql();
      }
      try {
        result = fn();
      } catch (err) {
        throw k.stops.routineFailed(act, err);
      }
      if (isThenable(result)) return finishThread(k, act, name, result);
      checkThreadReturn(k, act, name);
    } catch (err) {
      endThread(k, act);
      return Promise.reject(err);
    }
    endThread(k, act);
    return result;
  });
}

/** The rest of runOnProcessorInline once `fn` returned a promise (inside the thread's activation). */
async function finishThread<T>(k: KernelCore, act: Activation, name: string, pending: PromiseLike<T>): Promise<T> {
  try {
    let result: T;
    try {
      result = await pending;
    } catch (err) {
      throw k.stops.routineFailed(act, err);
    }
    checkThreadReturn(k, act, name);
    return result;
  } finally {
    endThread(k, act);
  }
}

/** A thread call must return at the IRQL it started at. */
function checkThreadReturn(k: KernelCore, act: Activation, name: string): void {
  if (act.irql !== act.baseIrql) {
    k.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (act.baseIrql << 8) | 2, 0, 0, 0, {
      message: `${name} returned at ${irqlName(act.irql)} but was called at ${irqlName(act.baseIrql)} (a spin lock still held, or an IRQL not restored)`,
    });
  }
}

/** A system-thread call (MiniportInitializeEx, MiniportHaltEx, an OID request) at PASSIVE_LEVEL on a processor the scheduler picks. */
export function runAtPassive<T>(k: KernelCore, name: string, fn: () => T | Promise<T>): Promise<T> {
  return runOnChosenProcessor(k, Irql.PASSIVE_LEVEL, name, fn);
}

/**
 * For `kernel.runOnChosenProcessor`: runOnProcessor on a processor the scheduler picks, an idle one
 * if there is one. A replay picks it once the recording has reached that choice (chooseWhenDue),
 * so the idle processors are the ones the recorded choice was made among.
 */
export function runOnChosenProcessor<T>(k: KernelCore, irql: number, name: string, fn: () => T | Promise<T>): Promise<T> {
  const P = k.scheduler.chooseWhenDue(() => candidateProcessors(k), processorOf);
  if (P instanceof Promise) return P.then((chosen) => runOnProcessor(k, chosen.index, irql, name, fn));
  return runOnProcessor(k, P.index, irql, name, fn);
}

function candidateProcessors(k: KernelCore): readonly Processor[] {
  const idle = k.processors.filter((P) => P.idle);
  return idle.length ? idle : k.processors;
}

const processorOf = (P: Processor): string => processorLabel(P.index);

/**
 * Call a driver callback inside the current routine (NDIS calling MiniportInterruptDPC from its
 * DPC, a facade calling MiniportSynchronizeInterrupt): it shows in the chain of routines and must
 * return at the IRQL it was called at.
 */
export async function callRoutine<T>(k: KernelCore, name: string, fn: () => T | Promise<T>): Promise<T> {
  const act = k.activationFor(name);
  const irql = act.irql;
  const rec = { name, irql, since: performance.now() };
  act.routines.push(rec);
  try {
    const r = fn();
    const result = isThenable(r) ? await r : r;
    checkCallbackReturn(k, act, name, irql);
    return result;
  } finally {
    popRoutine(act, rec);
  }
}

/**
 * callRoutine for a hot path (NDIS calling MiniportSendNetBufferLists from a protocol's send): when
 * `fn` returns a plain value, so does this, after the same checks; a promise from `fn` is awaited
 * as callRoutine does.
 */
export function callRoutineInline<T>(k: KernelCore, name: string, fn: () => T | Promise<T>): T | Promise<T> {
  let act: Activation;
  let rec: RoutineRecord;
  let result: T | Promise<T>;
  try {
    act = k.activationFor(name);
    rec = { name, irql: act.irql, since: performance.now() };
    act.routines.push(rec);
  } catch (err) {
    return Promise.reject(err);
  }
  try {
    result = fn();
    if (isThenable(result)) return finishCallback(k, act, rec, result);
    checkCallbackReturn(k, act, name, rec.irql);
  } catch (err) {
    popRoutine(act, rec);
    return Promise.reject(err);
  }
  popRoutine(act, rec);
  return result;
}

async function finishCallback<T>(k: KernelCore, act: Activation, rec: RoutineRecord, pending: PromiseLike<T>): Promise<T> {
  try {
    const result = await pending;
    checkCallbackReturn(k, act, rec.name, rec.irql);
    return result;
  } finally {
    popRoutine(act, rec);
  }
}

/** A callback must return at the IRQL it was called at. */
function checkCallbackReturn(k: KernelCore, act: Activation, name: string, irql: number): void {
  if (act.irql !== irql) {
    k.bugCheck(BugCheckCode.IRQL_UNEXPECTED_VALUE, (act.irql << 16) | (irql << 8) | 2, 0, 0, 0, {
      message: `${name} returned at ${irqlName(act.irql)} but was called at ${irqlName(irql)}`,
    });
  }
}

function popRoutine(act: Activation, rec: RoutineRecord): void {
  const i = act.routines.lastIndexOf(rec);
  if (i > 0) act.routines.splice(i, 1);
}

function endThread(k: KernelCore, act: Activation): void {
  act.ended = true;
  const P = act.processor;
  P.threads.delete(act);
  if (P.owner === act) P.owner = null;
  P.noteIrql();
  k.scheduler.wake();
  k.requestService(P);
}
