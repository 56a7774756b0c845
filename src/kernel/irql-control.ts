import type { Activation } from './activation.ts';
import { BugCheckCode, VerifierViolation } from './bugcheck.ts';
import type { KernelCore } from './core.ts';
import { irqlCheckFor } from './ddi-rules.ts';
import { Irql, irqlName, isValidIrql } from './irql.ts';

// IRQL changes: KeRaiseIrql and KeLowerIrql (the Kernel methods of the same names), the IRQL range
// check of every facade entry point, and setIrql, which keeps the processor's state right.

/** KeRaiseIrql for `kernel.raiseIrql`: returns the old IRQL; raising to a lower level is a bug check. */
export function raiseIrql(k: KernelCore, newIrql: number): number {
  const act = k.activationFor('KeRaiseIrql');
  if (!isValidIrql(newIrql) || newIrql < act.irql) {
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.RAISE_IRQL_INVALID, act.irql, newIrql, 0, {
      api: 'KeRaiseIrql',
      message: `KeRaiseIrql(${newIrql}) at ${irqlName(act.irql)}: the new IRQL is lower than the current one`,
    });
  }
  const old = act.irql;
  setIrql(k, act, newIrql);
  return old;
}

/**
 * KeLowerIrql for `kernel.lowerIrql`: lowering to a higher level is a bug check, and so is lowering
 * below the level a DPC (or an ISR) was entered at; a thread may go below its entry IRQL, as on
 * Windows, and answers for it only if it returns there (0xC8). What became deliverable runs before
 * it returns (KernelCore.irqlLowered).
 */
export function lowerIrql(k: KernelCore, newIrql: number): Promise<void> | undefined {
  const act = k.activationFor('KeLowerIrql');
  if (!isValidIrql(newIrql) || newIrql > act.irql || (act.kind !== 'thread' && newIrql < act.baseIrql)) {
    const inDpc = act.kind === 'dpc' && newIrql < act.baseIrql ? 1 : 0;
    k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, VerifierViolation.LOWER_IRQL_INVALID, act.irql, newIrql, inDpc, {
      api: 'KeLowerIrql',
      message:
        newIrql > act.irql
          ? `KeLowerIrql(${newIrql}) at ${irqlName(act.irql)}: the new IRQL is higher than the current one`
          : `KeLowerIrql(${newIrql}) in ${act.name}, which was entered at ${irqlName(act.baseIrql)}`,
    });
  }
  setIrql(k, act, newIrql, false);
  return k.irqlLowered(act);
}

/**
 * The IRQL range check of every facade entry point: outside the range is 0xC4 with what Driver
 * Verifier reports for that DDI (ddi-rules.ts: a DDI-compliance rule's ID, 0x3B for a wait at
 * DISPATCH_LEVEL, else 0xE5), P2 = the IRQL.
 */
export function requireIrqlOf(k: KernelCore, act: Activation, api: string, min: number, max: number): void {
  if (act.irql <= max && act.irql >= min) return;
  const check = irqlCheckFor(api, act.irql);
  const rule = check.rule ? ` (DDI rule ${check.rule}, !ruleinfo 0x${check.id.toString(16)})` : '';
  k.bugCheck(BugCheckCode.DRIVER_VERIFIER_DETECTED_VIOLATION, check.id, act.irql, 0, 0, {
    api,
    message: `${api} called at ${irqlName(act.irql)}; it may only be called at ${rangeText(min, max)}${rule}`,
  });
}

/** requireIrqlOf for calls host code may make too: checked only when a routine the kernel runs makes them. */
export function requireIrqlIfInRoutine(k: KernelCore, api: string, min: number, max: number): void {
  const act = k.current();
  if (act && !act.ended) requireIrqlOf(k, act, api, min, max);
}

/**
 * Set an activation's IRQL and keep its processor's state (owner, DPC watchdog clock, pending work)
 * right. `serviceLater` false: the caller takes the pending work itself (KernelCore.irqlLowered) and a
 * service pass scheduled for it would find nothing.
 */
export function setIrql(k: KernelCore, act: Activation, irql: number, serviceLater = true): void {
  const old = act.irql;
  const P = act.processor;
  if (act.kind === 'thread') {
    if (irql >= Irql.DISPATCH_LEVEL && P.owner !== act) {
      P.owner = act;
    } else if (irql < Irql.DISPATCH_LEVEL && P.owner === act) {
      P.owner = null;
      k.scheduler.wake();
    }
  }
  act.irql = irql;
  P.noteIrql();
  if (irql < old && serviceLater) k.requestService(P);
}

function rangeText(min: number, max: number): string {
  if (min === max) return irqlName(min);
  if (min === Irql.PASSIVE_LEVEL) return `IRQL <= ${irqlName(max)}`;
  return `${irqlName(min)}..${irqlName(max)}`;
}
