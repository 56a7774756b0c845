import type { QemuExit } from '../../qemu/device-stub.ts';
import { QemuExitedError } from '../../qemu/errors.ts';
import type { DeviceLoss, DeviceLossMonitor } from '../kernel/index.ts';
import { QtestDisconnectedError, QtestProtocolError, QtestTimeoutError } from '../transport/errors.ts';
import { QmpDisconnectedError, QmpProtocolError, QmpTimeoutError } from '../transport/qmp-errors.ts';

/** What the monitor needs of the QEMU process (DeviceStub has it). */
export interface QemuProcess {
  readonly pid: number | undefined;
  /** How QEMU ended, once it has. */
  readonly exit: QemuExit | undefined;
  /** Resolves when QEMU has exited. */
  readonly exited: Promise<QemuExit>;
}

export interface QemuDeviceLossOptions {
  /** Names the device in reports. Default "QEMU e1000". */
  device?: string;
  /**
   * How long describe() waits for QEMU's exit status: the qtest socket closes a little before the
   * process is reaped. Default 2000 ms.
   */
  exitWaitMs?: number;
  /** stderr lines kept in the report. Default 20. */
  stderrLines?: number;
}

/**
 * The device-loss monitor for QEMU: a closed qtest or QMP connection (or a QemuExitedError, which
 * the platform makes of one once QEMU's exit status is known) means the NIC went away, not that the
 * driver faulted. A connection the client shut itself after a timeout or a malformed reply is not
 * counted: QEMU may still be there, and that is a transport fault, not a surprise removal.
 */
export function qemuDeviceLoss(qemu: QemuProcess, opts: QemuDeviceLossOptions = {}): DeviceLossMonitor {
  const device = opts.device ?? 'QEMU e1000';
  const exitWaitMs = opts.exitWaitMs ?? 2000;
  const stderrLines = opts.stderrLines ?? 20;
  return {
    isDeviceLoss(err: unknown): boolean {
      if (err instanceof QemuExitedError) return true;
      if (err instanceof QtestDisconnectedError || err instanceof QmpDisconnectedError) return !closedByClient(err);
      return false;
    },
    async describe(): Promise<DeviceLoss> {
      const pid = qemu.pid;
      const name = `${device}${pid === undefined ? '' : ` (pid ${pid})`}`;
      const exit = qemu.exit ?? (await waitFor(qemu.exited, exitWaitMs));
      if (!exit) {
        return { device: name, summary: `the connection to QEMU${pid === undefined ? '' : ` (pid ${pid})`} closed, and QEMU had not exited ${exitWaitMs} ms later` };
      }
      const stderrTail = tail(exit.stderr, stderrLines);
      return {
        device: name,
        summary: describeExit(exit, pid),
        ...(exit.signal ? { signal: exit.signal } : {}),
        ...(exit.exitCode !== undefined ? { exitCode: exit.exitCode } : {}),
        ...(stderrTail ? { stderrTail } : {}),
      };
    },
  };
}

/** The client closed the stream itself (timeout, malformed reply): somewhere in the cause chain. */
function closedByClient(err: Error): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 16; e = e.cause, depth++) {
    if (e instanceof QtestTimeoutError || e instanceof QtestProtocolError || e instanceof QmpTimeoutError || e instanceof QmpProtocolError) return true;
  }
  return false;
}

/** "QEMU (pid 1234) was killed by SIGKILL", "... exited with code 1", "... was stopped by the host (SIGTERM)". */
export function describeExit(exit: QemuExit, pid: number | undefined): string {
  const who = `QEMU${pid === undefined ? '' : ` (pid ${pid})`}`;
  if (exit.spawnError) return `${who} could not be spawned: ${exit.spawnError}`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
  return exit.expected ? `${who} was stopped by the host (${exit.signal ?? `exit code ${exit.exitCode}`})` : `${who} ${how}`;
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).join('\n').slice(-4096);
}

function waitFor<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
