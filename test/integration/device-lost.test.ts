/**
 * QEMU (the NIC) killed under a running driver: the host must say the device went away
 * (DIRQL_DEVICE_LOST, naming QEMU's signal), not blame the driver with 0x7E/0x1E, and end
 * cleanly: QEMU reaped, no socket or /dev/shm file left, stop() still usable.
 */

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrafficGenerator, type WirePeer } from '../../harness/index.ts';
import { BugCheckCode, type BugCheckReport } from '../../src/kernel/bugcheck.ts';
import type { DriverHost } from '../../src/host/driver-host.ts';
import { DriverHostError } from '../../src/host/errors.ts';
import { PEER_MAC, closeHostWithPeer, openHostWithPeer, type HostWithPeer } from './support/e1000-exchange.ts';
import { qemuPids, shmFilesOf } from './support/leftovers.ts';
import { waitUntil } from '../support/wait.ts';

describe('device lost: QEMU killed with SIGKILL while the NDIS 6 driver sends', () => {
  let f: HostWithPeer | undefined;
  let host: DriverHost;
  let peer: WirePeer;
  let pid: number;
  let stubDir: string;
  let ramPath: string | undefined;
  const bugchecks: BugCheckReport[] = [];
  let lost: BugCheckReport;
  let sending: Promise<unknown>;

  beforeAll(async () => {
    f = await openHostWithPeer('dirql-device-lost-', { framework: 'ndis6', processors: 1 });
    ({ host, peer } = f);
    pid = host.machine.stub.pid!;
    stubDir = host.machine.stub.dir;
    ramPath = host.machine.stub.ram?.path;
    host.on('bugcheck', (r: BugCheckReport) => bugchecks.push(r));
  });

  afterAll(() => closeHostWithPeer(f));

  it('reports DIRQL_DEVICE_LOST naming SIGKILL, not a driver bug check, when QEMU dies mid-traffic', async () => {
    const deviceLost = new Promise<BugCheckReport>((resolve) => host.once('device-lost', resolve));
    // Keep the driver busy (sends, TX-completion ISRs and DPCs) until the host refuses.
    const frames = new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 'mixed', seed: 3 }).take(256);
    sending = (async () => {
      for (;;) await host.sendAll(frames);
    })().catch((err: unknown) => err);
    await waitUntil('traffic at the peer', () => peer.counters.framesReceived >= 1000, 10_000);

    process.kill(pid, 'SIGKILL');
    lost = await deviceLost;

    expect(lost.code).toBe(BugCheckCode.DIRQL_DEVICE_LOST);
    expect([BugCheckCode.KMODE_EXCEPTION_NOT_HANDLED, BugCheckCode.SYSTEM_THREAD_EXCEPTION_NOT_HANDLED]).not.toContain(lost.code);
    expect(lost.device).toMatchObject({ signal: 'SIGKILL', summary: `QEMU (pid ${pid}) was killed by SIGKILL` });
    expect(lost.message).toContain('SIGKILL');
    expect(lost.message).not.toMatch(/exception|threw/i);
    expect(bugchecks).toEqual([]);
    expect(host.bugCheck).toBeUndefined();
    expect(host.deviceLoss).toBe(lost);

    const text = readFileSync(lost.files!.text, 'utf8');
    expect(text).toMatch(/^DIRQL_DEVICE_LOST/);
    expect(text).toContain('Signal:    SIGKILL');
    expect(text).toContain('not a driver fault');
    expect(text).not.toMatch(/exception not handled/i);
  });

  it('has ended cleanly by then: QEMU reaped, its sockets and RAM file gone, the qtest client closed', () => {
    expect(qemuPids()).not.toContain(pid);
    expect(existsSync(join(stubDir, 'qtest.sock'))).toBe(false);
    expect(existsSync(join(stubDir, 'qmp.sock'))).toBe(false);
    expect(existsSync(stubDir)).toBe(false);
    if (ramPath) expect(existsSync(ramPath)).toBe(false);
    expect(host.machine.stub.ram?.closed ?? true).toBe(true);
    expect(shmFilesOf(process.pid)).toEqual([]);
    expect(host.machine.qtest.closed).toBe(true);
  });

  it('refuses further sends saying the device went away, and stop() still works and is idempotent', async () => {
    const stopped = await sending;
    expect(stopped).toBeInstanceOf(DriverHostError);
    expect(() => host.send([Buffer.alloc(60)])).toThrow(DriverHostError);
    expect(host.stop()).toBe(host.stop());
    await host.stop();
    await host.stop();
    expect(qemuPids()).not.toContain(pid);
  });
});
