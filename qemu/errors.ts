import { DirqlError } from '../src/util/errors.ts';

/** Anything that went wrong starting, running or stopping the QEMU device stub. */
export class DeviceStubError extends DirqlError {}

/** The stub's configuration cannot work (bad MAC, memory size, port). Nothing was started. */
export class DeviceStubConfigError extends DeviceStubError {}

/**
 * QEMU did not come up: it failed to spawn, exited before connecting, or did not connect to the
 * qtest socket in time. `context` carries `stage`, `exitCode`, `signal`, `stderr` and `argv`.
 */
export class QemuStartError extends DeviceStubError {}

/**
 * QEMU exited while the host still needed it (killed, crashed, aborted on bad input).
 * `context` carries `exitCode`, `signal`, `stderr`.
 */
export class QemuExitedError extends DeviceStubError {}

/**
 * The QEMU binary is not there (or not executable): found before anything starts.
 * `context` carries `binary` and `from` (the option, config key or variable that named it).
 */
export class QemuBinaryMissingError extends DeviceStubError {}
