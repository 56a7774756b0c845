import { VerifierViolation } from './bugcheck.ts';
import { Irql } from './irql.ts';

/**
 * What Driver Verifier reports for a DDI called outside its IRQL range: P1 of 0xC4
 * DRIVER_VERIFIER_DETECTED_VIOLATION. Where Windows has a DDI-compliance rule for the routine (its
 * reference page names one with a 0xC4 parameter), that rule's ID and name; else the verifier's
 * automatic check for the routine (0x3B for a wait at DISPATCH_LEVEL or above); else 0xE5, "kernel
 * API called at incorrect IRQL". For rule IDs Windows' P2 is a pointer to the rule's condition
 * string: dirql puts the IRQL in P2 (as for 0xE5) and the condition in the report's message.
 */
export interface IrqlCheck {
  /** Parameter 1 of 0xC4. */
  readonly id: number;
  /** The DDI-compliance rule's name (`!ruleinfo` takes its ID), absent for an automatic check. */
  readonly rule?: string;
}

/** DDI-compliance IRQL rules with a run-time bug-check ID (devtest/wdm-irql*.md). */
export const DdiRule = {
  /** KeCancelTimer, KeClearEvent, KeResetEvent, KeSetTimer(Ex), KeReadStateEvent, … only at IRQL <= DISPATCH_LEVEL. */
  IrqlKeDispatchLte: { id: 0x20011, rule: 'IrqlKeDispatchLte' },
  /** KeSetEvent with Wait FALSE only at IRQL <= DISPATCH_LEVEL. */
  IrqlKeSetEvent: { id: 0x20016, rule: 'IrqlKeSetEvent' },
} as const satisfies Record<string, IrqlCheck>;

const WRONG_IRQL: IrqlCheck = { id: VerifierViolation.DDI_AT_WRONG_IRQL };
const WAIT_AT_DISPATCH: IrqlCheck = { id: VerifierViolation.WAIT_AT_DISPATCH_OR_ABOVE };

const BY_API: Readonly<Record<string, IrqlCheck>> = {
  KeCancelTimer: DdiRule.IrqlKeDispatchLte,
  KeClearEvent: DdiRule.IrqlKeDispatchLte,
  KeResetEvent: DdiRule.IrqlKeDispatchLte,
  KeSetTimer: DdiRule.IrqlKeDispatchLte,
  KeSetTimerEx: DdiRule.IrqlKeDispatchLte,
  KeReadStateEvent: DdiRule.IrqlKeDispatchLte,
  KeReadStateTimer: DdiRule.IrqlKeDispatchLte,
  KeSetEvent: DdiRule.IrqlKeSetEvent,
};

/** The check Driver Verifier makes for `api` called at `irql` outside its range. */
export function irqlCheckFor(api: string, irql: number): IrqlCheck {
  if (api === 'KeWaitForSingleObject' && irql >= Irql.DISPATCH_LEVEL) return WAIT_AT_DISPATCH;
  return BY_API[api] ?? WRONG_IRQL;
}
