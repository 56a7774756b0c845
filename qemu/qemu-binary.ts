import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { QemuBinaryMissingError } from './errors.ts';

export const DEFAULT_QEMU_BINARY = 'qemu-system-x86_64';

/** Names the QEMU binary when neither DriverHost's `machine.qemuBinary` nor a config's `qemuBinary` does. */
export const QEMU_BINARY_ENV = 'DIRQL_QEMU';

export const QEMU_INSTALL_HINT = 'install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86; Fedora: dnf install qemu-system-x86; macOS: brew install qemu)';

/** The binary to run and what named it: the option given, else DIRQL_QEMU, else qemu-system-x86_64 on PATH. */
export function chooseQemuBinary(given: string | undefined, givenAs = 'machine.qemuBinary'): { binary: string; from: string } {
  if (given !== undefined) return { binary: given, from: givenAs };
  const env = process.env[QEMU_BINARY_ENV];
  if (env !== undefined && env !== '') return { binary: env, from: QEMU_BINARY_ENV };
  return { binary: DEFAULT_QEMU_BINARY, from: 'the default' };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Throws QemuBinaryMissingError unless `binary` (a path, or a name looked up on PATH) is an
 * executable file: a clear error before a socket, a RAM file or a process exists. Returns its path.
 */
export function requireQemuBinary(binary: string, from: string): string {
  const found = binary.includes('/') ? (executable(resolve(binary)) ? resolve(binary) : undefined) : onPath(binary);
  if (found) return found;
  const where = binary.includes('/') ? `${isAbsolute(binary) ? binary : resolve(binary)} does not exist or is not executable` : `'${binary}' is not on PATH`;
  const setIt = from === 'the default' ? `set ${QEMU_BINARY_ENV} (or the config key 'qemuBinary') to its path` : `fix ${from}`;
  throw new QemuBinaryMissingError(`no QEMU binary: ${where} (named by ${from}); ${QEMU_INSTALL_HINT}, or ${setIt}`, { binary, from });
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** chooseQemuBinary then requireQemuBinary: the binary to run (as named), known to be there. */
export function checkedQemuBinary(given: string | undefined, givenAs?: string): string {
  const { binary, from } = chooseQemuBinary(given, givenAs);
  requireQemuBinary(binary, from);
  return binary;
}
