// How a JavaScript error escaping a driver routine maps to the exception code Windows would put in
// parameter 1 of 0x1E / 0x7E. JS has no faulting instruction; the mapping takes the error class that
// plays the same part: TypeError and ReferenceError are JS's null or wild dereference, a RangeError
// from a Buffer or typed array is an access out of bounds, and so on.

/** NTSTATUS exception codes (names as in ntstatus.h). */
export const ExceptionCode = {
  STATUS_ACCESS_VIOLATION: 0xc0000005,
  STATUS_ARRAY_BOUNDS_EXCEEDED: 0xc000008c,
  STATUS_STACK_OVERFLOW: 0xc00000fd,
  STATUS_UNHANDLED_EXCEPTION: 0xc0000144,
  STATUS_ASSERTION_FAILURE: 0xc0000420,
} as const;

const names = new Map<number, string>(Object.entries(ExceptionCode).map(([k, v]) => [v, k]));

export interface MappedException {
  readonly code: number;
  readonly name: string;
  /** The first stack frame of the error, "at E1000Isr (src/drivers/…/interrupts.ts:41:7)", if it has one. */
  readonly site: string | undefined;
}

/**
 * The exception code for `err`:
 * - an `ntStatus` number on the error (the driver raised a status, as ExRaiseStatus does): that code;
 * - RangeError "Maximum call stack size exceeded": STATUS_STACK_OVERFLOW;
 * - any other RangeError (a Buffer or typed-array offset out of range): STATUS_ARRAY_BOUNDS_EXCEEDED;
 * - TypeError, ReferenceError (a property of undefined, a call of a non-function): STATUS_ACCESS_VIOLATION;
 * - node:assert's AssertionError: STATUS_ASSERTION_FAILURE, what NT_ASSERT raises;
 * - anything else thrown: STATUS_UNHANDLED_EXCEPTION.
 */
export function mapException(err: unknown): MappedException {
  const code = codeOf(err);
  const stack = err instanceof Error ? err.stack : undefined;
  const site = stack
    ?.split('\n')
    .find((l) => l.trimStart().startsWith('at '))
    ?.trim();
  return { code, name: names.get(code) ?? `0x${code.toString(16).toUpperCase()}`, site };
}

function codeOf(err: unknown): number {
  const status = (err as { ntStatus?: unknown } | null)?.ntStatus;
  if (typeof status === 'number' && Number.isInteger(status)) return status >>> 0;
  if (err instanceof RangeError) {
    return /maximum call stack/i.test(err.message) ? ExceptionCode.STATUS_STACK_OVERFLOW : ExceptionCode.STATUS_ARRAY_BOUNDS_EXCEEDED;
  }
  if (err instanceof TypeError || err instanceof ReferenceError) return ExceptionCode.STATUS_ACCESS_VIOLATION;
  if (err instanceof Error && err.name === 'AssertionError') return ExceptionCode.STATUS_ASSERTION_FAILURE;
  return ExceptionCode.STATUS_UNHANDLED_EXCEPTION;
}
