/**
 * What a QEMU launcher (qemu/launcher.ts) and a host attaching to it (src/platform/attach.ts)
 * agree on. Everything lives in one directory both can reach (a shared volume in compose):
 *
 *   qemu.json   the ready file: written (atomically) once a fresh QEMU answers, removed the moment a
 *               host holds the lease; its presence means "a QEMU is waiting for a host"
 *   lease.sock  the launcher's socket: a host connects, says hello, and is granted the QEMU for as
 *               long as the connection stays open; when it closes (however the host ended, SIGKILL
 *               included: the kernel closes it) the launcher stops that QEMU and starts a fresh one
 *   qtest.sock, qmp.sock   QEMU's own sockets (QEMU listens)
 *   ram-<n>     guest RAM of generation n (QEMU maps it shared; the host opens it)
 *
 * Names in the messages are relative to the directory, since each container may mount it elsewhere.
 */
import type { ResolvedNic, ResolvedNetdev } from './stub-config.ts';

export const READY_FILE = 'qemu.json';
export const LEASE_SOCKET = 'lease.sock';
export const QTEST_SOCKET = 'qtest.sock';
export const QMP_SOCKET = 'qmp.sock';
/** The launcher's own QMP monitor: QEMU connects to it, and a `query-status` answer there means the machine exists. */
export const LAUNCHER_QMP_SOCKET = 'launcher-qmp.sock';
export const FIRMWARE_FILE = 'halt.bin';
export const PROTOCOL_VERSION = 1;

/** The QEMU waiting for a host (the ready file's contents, and the lease's grant). */
export interface QemuOffer {
  version: number;
  /** Counts the QEMUs this launcher started: each host gets a fresh one. */
  generation: number;
  launcherPid: number;
  /** In the launcher's pid namespace. */
  qemuPid: number | undefined;
  qtestSocket: string;
  qmpSocket: string;
  ramFile: string;
  memoryMiB: number;
  mac: string;
  nic: ResolvedNic;
  netdev: ResolvedNetdev;
}

/** Host → launcher, the first line on the lease socket. */
export interface LeaseHello {
  hello: { pid: number };
}

/** Launcher → host: the QEMU is this host's, or it is not (another host holds it). */
export type LeaseAnswer = { granted: true; offer: QemuOffer } | { granted: false; reason: string };

/** Launcher → host while the lease is held: the QEMU went away on its own. */
export interface LeaseExitNotice {
  exit: { exitCode: number | undefined; signal: string | undefined; stderr: string };
}

/** One JSON message per line. */
export function encodeLine(message: object): string {
  return JSON.stringify(message) + '\n';
}

/** Splits a stream into lines, calling `onLine` for each complete one. */
export function lineReader(onLine: (line: string) => void): (chunk: Buffer) => void {
  let buffered = '';
  return (chunk) => {
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== '') onLine(line);
      nl = buffered.indexOf('\n');
    }
  };
}
