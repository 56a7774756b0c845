import { KernelError } from './errors.ts';

/**
 * What an access to a register does, for the lockset verifier (lockset.ts). Only `plain`
 * registers (and the state of a set/clear pair) can be lost by a read-modify-write race; the
 * others are made atomic by the device.
 * - `plain`: reads return, writes replace the value (RCTL, TDT, ITR).
 * - `read-to-clear`: a read returns the value and clears it in the same cycle (ICR, most statistics).
 * - `write-1-to-clear`: writing 1s clears those bits, 0s leave them (a W1C status register).
 * - `command`: write-only, a write triggers something (ICS, a doorbell that is never read back).
 * - `{ pair, op: 'set' | 'clear' }`: one of a set/clear pair over one piece of device state named
 *   `pair` (IMS sets mask bits, IMC clears them, reading IMS reads the mask). A write alone is
 *   atomic; a read of the state followed by a write from the same routine is a read-modify-write.
 */
export type RegisterSemantics = 'plain' | 'read-to-clear' | 'write-1-to-clear' | 'command' | { readonly pair: string; readonly op: 'set' | 'clear' };

/**
 * A driver's register map: the name of the register at an offset (for traces and reports), with
 * the semantics of each name attached. It is a plain name function, so it goes wherever a
 * `registerName` goes (DeviceRegistersOptions, the NDIS and KMDF resources) and the semantics
 * travel with it.
 */
export interface RegisterMap {
  (offset: number): string | undefined;
  /** The semantics of the register at `offset`; `plain` when the map says nothing. */
  readonly semanticsOf: (offset: number) => RegisterSemantics;
}

/** One register in a table given to defineRegisterMap: its offset, or its offset and semantics. */
export type RegisterDeclaration = number | { readonly offset: number; readonly semantics: RegisterSemantics };

/**
 * A register map from a table, for a driver's own device:
 *
 *     const regs = defineRegisterMap({ CTRL: 0x0, STATUS: 0x8, ISR: { offset: 0x10, semantics: 'read-to-clear' },
 *       IMASK: { offset: 0x14, semantics: { pair: 'IMASK', op: 'set' } }, ICLR: { offset: 0x18, semantics: { pair: 'IMASK', op: 'clear' } } });
 */
export function defineRegisterMap(table: Readonly<Record<string, RegisterDeclaration>>): RegisterMap {
  const names = new Map<number, string>();
  const semantics: Record<string, RegisterSemantics> = {};
  for (const [name, decl] of Object.entries(table)) {
    const offset = typeof decl === 'number' ? decl : decl.offset;
    if (!Number.isInteger(offset) || offset < 0) throw new KernelError(`register ${name}: offset ${offset} is not a byte offset`, { register: name });
    if (names.has(offset)) throw new KernelError(`register ${name}: offset 0x${offset.toString(16)} is already ${names.get(offset)}`, { register: name });
    names.set(offset, name);
    if (typeof decl !== 'number') semantics[name] = decl.semantics;
  }
  return withRegisterSemantics((offset) => names.get(offset), semantics);
}

/**
 * A register map from an existing name function and the semantics of the registers that are not
 * plain, by name (the e1000's: ranges such as MTA[n] are computed, so it has a function).
 */
export function withRegisterSemantics(name: (offset: number) => string | undefined, semantics: Readonly<Record<string, RegisterSemantics>>): RegisterMap {
  const pairs = Object.values(semantics).filter((s) => typeof s === 'object');
  for (const [reg, s] of Object.entries(semantics)) {
    if (typeof s === 'object' && !pairs.some((o) => o.pair === s.pair && o.op !== s.op)) {
      throw new KernelError(`register ${reg}: set/clear pair ${s.pair} has no other half`, { register: reg });
    }
  }
  const semanticsOf = (offset: number): RegisterSemantics => {
    const n = name(offset);
    return (n !== undefined ? semantics[n] : undefined) ?? 'plain';
  };
  return Object.assign((offset: number) => name(offset), { semanticsOf });
}

/** The semantics lookup of a name function given as `registerName`, if it is a RegisterMap. */
export function semanticsLookup(name: ((offset: number) => string | undefined) | undefined): ((offset: number) => RegisterSemantics) | undefined {
  const lookup = (name as Partial<RegisterMap> | undefined)?.semanticsOf;
  return typeof lookup === 'function' ? lookup : undefined;
}
