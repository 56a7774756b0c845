/**
 * IRQL numbering of x64 Windows. Device interrupts (DIRQLs) use levels 3–12.
 * A KIRQL is a plain number so that facades can pass Windows values through unchanged.
 */
export type KIRQL = number;

export const Irql = {
  PASSIVE_LEVEL: 0,
  LOW_LEVEL: 0,
  APC_LEVEL: 1,
  DISPATCH_LEVEL: 2,
  /** Lowest device IRQL (DIRQL). */
  DEVICE_LEVEL_MIN: 3,
  /** Highest device IRQL (DIRQL). */
  DEVICE_LEVEL_MAX: 12,
  CLOCK_LEVEL: 13,
  IPI_LEVEL: 14,
  POWER_LEVEL: 14,
  PROFILE_LEVEL: 15,
  HIGH_LEVEL: 15,
} as const;

/** DIRQL given to an interrupt whose connector names none. */
export const DEFAULT_DIRQL: KIRQL = 5;

export function isValidIrql(irql: number): boolean {
  return Number.isInteger(irql) && irql >= Irql.PASSIVE_LEVEL && irql <= Irql.HIGH_LEVEL;
}

export function isDeviceIrql(irql: number): boolean {
  return Number.isInteger(irql) && irql >= Irql.DEVICE_LEVEL_MIN && irql <= Irql.DEVICE_LEVEL_MAX;
}

/** The name a driver engineer reads in a debugger: PASSIVE_LEVEL, DISPATCH_LEVEL, DIRQL 5, HIGH_LEVEL. */
export function irqlName(irql: number): string {
  switch (irql) {
    case 0:
      return 'PASSIVE_LEVEL';
    case 1:
      return 'APC_LEVEL';
    case 2:
      return 'DISPATCH_LEVEL';
    case 13:
      return 'CLOCK_LEVEL';
    case 14:
      return 'IPI_LEVEL';
    case 15:
      return 'HIGH_LEVEL';
    default:
      return isDeviceIrql(irql) ? `DIRQL ${irql}` : `invalid IRQL ${irql}`;
  }
}
