import { QtestInvalidCommandError } from './errors.ts';

/**
 * Validation and formatting of qtest commands. QEMU 7.2 abort()s on malformed input (empty
 * line, double space, missing argument, unparsable number, zero-size read, port > 0xFFFF), so
 * nothing reaches the socket that has not passed through here.
 */

const MAX_U64 = (1n << 64n) - 1n;

export type Width = 8 | 16 | 32 | 64;

const WIDTH_MAX: Record<Width, bigint> = {
  8: 0xffn,
  16: 0xffffn,
  32: 0xffff_ffffn,
  64: MAX_U64,
};

function invalid(command: string, why: string, extra: Record<string, unknown> = {}): never {
  throw new QtestInvalidCommandError(`qtest ${command}: ${why}`, { command, ...extra });
}

/** Formats an address (guest physical) as hex after checking it is a u64. */
export function hexAddress(command: string, addr: number | bigint): string {
  if (typeof addr === 'number') {
    if (!Number.isSafeInteger(addr) || addr < 0) invalid(command, `bad address ${addr}`, { address: addr });
    return '0x' + addr.toString(16);
  }
  if (addr < 0n || addr > MAX_U64) invalid(command, `bad address ${addr}`, { address: addr });
  return '0x' + addr.toString(16);
}

const NUMBER_MAX: Record<Width, number> = { 8: 0xff, 16: 0xffff, 32: 0xffff_ffff, 64: Number.MAX_SAFE_INTEGER };

export function hexValue(command: string, value: number | bigint, width: Width): string {
  // Every register write comes through here: numbers are checked without a BigInt.
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= NUMBER_MAX[width]) return '0x' + value.toString(16);
  const v = typeof value === 'number' ? (Number.isSafeInteger(value) ? BigInt(value) : -1n) : value;
  if (v < 0n || v > WIDTH_MAX[width]) {
    invalid(command, `value ${value} does not fit in ${width} bits`, { value, width });
  }
  return '0x' + v.toString(16);
}

export function hexPort(command: string, port: number): string {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) invalid(command, `bad port ${port}`, { port });
  return '0x' + port.toString(16);
}

export function hexSize(command: string, size: number): string {
  if (!Number.isSafeInteger(size) || size <= 0) invalid(command, `bad size ${size}`, { size });
  return '0x' + size.toString(16);
}

/** QOM paths go on the line verbatim: no whitespace, no control characters. */
export function qomPath(command: string, path: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (path.length === 0 || /[\s\x00-\x1f\x7f]/.test(path)) invalid(command, `bad QOM path ${JSON.stringify(path)}`);
  return path;
}
