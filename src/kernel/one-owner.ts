import type { Activation } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { irqlName } from './irql.ts';
import type { Processor } from './processor.ts';

// One owner per processor: while an ISR, a DPC or a thread raised to DISPATCH_LEVEL runs on a
// processor, nothing else executes there. The kernel keeps to that at every point it controls; code
// that awaited something else (a setTimeout, a file read, a helper's own promise) can resume while
// its processor runs another routine, an interleaving Windows cannot produce. It is caught at the
// resumed code's next kernel call (every call goes through KernelCore.activationFor).

/**
 * `act` made a kernel call while it may not run. A thread below DISPATCH_LEVEL whose processor a
 * thread holds raised was only descheduled, and moves to an idle processor as Windows would schedule
 * it; anything else is 0xC4 / RESUMED_OUTSIDE_KERNEL_WAIT, naming the routine that resumed and what
 * its processor was running.
 */
export function resumedOnBusyProcessor(k: KernelCore, act: Activation, api: string): Activation {
  const P = act.processor;
  if (act.kind === 'thread' && P.nested.length === 0) {
    const to = k.processors.find((Q) => Q.nested.length === 0 && Q.owner === null);
    if (to) return moveThread(act, to);
  }
  const over = P.nested[P.nested.length - 1] ?? P.owner;
  const overText = over ? `${over.kind === 'thread' ? 'thread' : over.kind.toUpperCase()} ${over.routine} at ${irqlName(over.irql)}` : 'another routine';
  return k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.RESUMED_OUTSIDE_KERNEL_WAIT, act.irql, P.irql, P.index, {
    api,
    message:
      `${act.routine} (${act.kind === 'thread' ? 'thread' : act.kind.toUpperCase()} at ${irqlName(act.irql)}) called ${api} while processor ${P.index} was running ${overText}: ` +
      `${act.routine} had awaited a promise the kernel does not control (a setTimeout, a file read, a helper's own promise) and resumed in the middle of it. ` +
      'Await only kernel waits: register accesses, stalls, kernel.wait(promise), kernel.delayExecution(ms)',
  });
}

function moveThread(act: Activation, to: Processor): Activation {
  act.processor.threads.delete(act);
  to.threads.add(act);
  act.processor = to;
  return act;
}
