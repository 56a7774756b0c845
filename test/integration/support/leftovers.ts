/**
 * What a stopped host must not leave behind: its QEMU process, its socket directory, its guest-RAM
 * file in /dev/shm, QEMU's UDP socket. Shared by the fault tests, which end every host this way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { expect } from 'vitest';
import { readNetdevSocket } from '../../../qemu/netdev-socket.ts';
import type { DriverHost } from '../../../src/host/driver-host.ts';

/** QEMU processes alive now, by pid (`pgrep qemu`; exit status 1 means none). */
export function qemuPids(): number[] {
  try {
    return execFileSync('pgrep', ['qemu'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return [];
    throw err;
  }
}

/** Gone, or a zombie waiting for its parent or init to reap it (it no longer runs either way). */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** The guest-RAM files in /dev/shm that the dirql process `pid` made (`dirql-<pid>-…`). */
export function shmFilesOf(pid: number): string[] {
  return readdirSync('/dev/shm').filter((n) => n.startsWith(`dirql-${pid}-`));
}

/** The traces of a running host's machine, taken before it stops. */
export interface MachineTraces {
  pid: number;
  dir: string;
  ramPath: string | undefined;
  qemuPort: number | undefined;
}

export function machineTraces(host: DriverHost): MachineTraces {
  return { pid: host.machine.stub.pid!, dir: host.machine.stub.dir, ramPath: host.machine.stub.ram?.path, qemuPort: host.machine.stub.wire?.qemuPort };
}

/** After stop(): QEMU reaped, sockets, directory and RAM file gone, no /dev/shm file of this process, QEMU's UDP port closed. */
export async function expectNothingLeft(t: MachineTraces): Promise<void> {
  expect(qemuPids()).not.toContain(t.pid);
  expect(existsSync(t.dir)).toBe(false);
  if (t.ramPath) expect(existsSync(t.ramPath)).toBe(false);
  expect(shmFilesOf(process.pid)).toEqual([]);
  if (t.qemuPort !== undefined) expect(await readNetdevSocket(t.qemuPort)).toBeUndefined();
}
