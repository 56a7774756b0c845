/**
 * Surprise removal in a recording (format version 8): a session whose NIC QEMU ejected under the
 * driver replays without QEMU, the driver's removal path included, and a crash in that path
 * replays to the same bug check. Driver modules have the removal path too.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TrafficGenerator } from '../../harness/index.ts';
import type { Ndis6DriverModule } from '../../src/host/frameworks/driver-module.ts';
import { DriverHost } from '../../src/host/driver-host.ts';
import type { DeviceRegisters } from '../../src/kernel/index.ts';
import { RecordKind, readRecording } from '../../src/record/format.ts';
import { replay } from '../../src/record/replay.ts';
import { PCI_EJ } from '../../src/platform/pci-hotplug.ts';
import { waitUntil } from '../support/wait.ts';
import { closeHostWithPeer, openHostWithPeer, PEER_MAC } from './support/e1000-exchange.ts';
import { minimalWith } from './support/minimal-driver.ts';

const dir = mkdtempSync(join(tmpdir(), 'dirql-replay-removal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REMOVAL_HANDLERS = {
  ndis6: ['MiniportDevicePnPEventNotify', 'MiniportPause', 'MiniportHaltEx'],
  ndis5: ['MiniportPnPEventNotify', 'MiniportHalt'],
  kmdf: ['EvtDeviceSurpriseRemoval', 'EvtDeviceD0ExitPreInterruptsDisabled', 'EvtDeviceD0Exit', 'EvtDeviceReleaseHardware'],
};

interface Removal {
  bdf: string;
  callbacks: { handler: string; irql: string }[];
  droppedWrites: number;
}

function removalOf(counters: unknown): Removal | undefined {
  return (counters as { removal?: Removal } | undefined)?.removal;
}

describe.each(['ndis6', 'ndis5', 'kmdf'] as const)('REPLAY of a %s session whose NIC was surprise-removed under traffic (no QEMU)', (framework) => {
  it('runs the same removal path and ends with the recorded counters', async () => {
    const file = join(dir, `${framework}.rec`);
    const f = await openHostWithPeer('dirql-replay-removal-', { framework, processors: 2, record: file });
    try {
      await f.host.sendAll(new TrafficGenerator({ src: f.host.mac, dst: PEER_MAC, stream: 1, size: 200 }).take(200));
      await waitUntil('frames at the peer', () => f.peer.counters.framesReceived >= 100, 10_000);
      await f.host.surpriseRemove();
    } finally {
      await closeHostWithPeer(f);
    }
    const events = readRecording(file).events;
    const remove = events.findIndex((e) => e[0] === RecordKind.Host && e[1] === 'remove');
    expect(remove).toBeGreaterThan(0);
    // The eject's qtest half follows the host's input; QMP's device_del is not in the stream.
    const eject = events.findIndex((e, i) => i > remove && e[0] === RecordKind.Command && e[1].startsWith(`outl 0x${PCI_EJ.toString(16)} `));
    expect(eject).toBeGreaterThan(remove);

    const r = await replay(file);
    expect(r.divergence).toBeUndefined();
    expect(r.outcome).toBe('same');
    const replayed = removalOf(r.counters);
    expect(replayed?.callbacks.map((c) => c.handler)).toEqual(REMOVAL_HANDLERS[framework]);
    expect(replayed?.callbacks.every((c) => c.irql === 'PASSIVE_LEVEL')).toBe(true);
    expect(replayed).toEqual(removalOf(r.recordedCounters));
  });
});

/** The minimal NDIS 6 example whose MiniportHaltEx trusts a register read: all ones after a removal, and it throws. */
function haltTrustsStatus(): Ndis6DriverModule {
  return minimalWith(
    'registerMiniportDriver',
    (register) => (chars: { haltHandlerEx: (context: unknown, action: number) => Promise<void> }) =>
      (register as (c: unknown) => unknown)({
        ...chars,
        async haltHandlerEx(context: unknown, action: number) {
          const status = await (context as { regs: DeviceRegisters }).regs.read32(0x0008);
          if (status === 0xffffffff) throw new Error(`RX ring index ${status >>> 16} out of range`);
          return chars.haltHandlerEx(context, action);
        },
      }),
  );
}

describe('surprise removal of a driver module', () => {
  // The NDIS 6 example has no MiniportDevicePnPEventNotify: NDIS pauses it, then halts it. The
  // KMDF example has EvtDeviceReleaseHardware as its only PnP or power callback.
  it.each([
    ['minimal-ndis6', ['MiniportPause', 'MiniportHaltEx']],
    ['minimal-kmdf', ['EvtDeviceReleaseHardware']],
  ])("%s: runs the module's removal path, and a recording of it replays (no QEMU)", async (example, handlers) => {
    const file = join(dir, `${example}.rec`);
    const crashDir = mkdtempSync(join(dir, 'crash-'));
    const host = await DriverHost.start({ driver: join('examples', example, 'driver.ts'), processors: 1, record: file, bugCheckDir: crashDir });
    try {
      await waitUntil('link up', () => host.linkUp, 10_000);
      const removal = await host.surpriseRemove();
      expect(removal.callbacks.map((c) => c.handler)).toEqual(handlers);
      expect(host.halted).toBe(true);
      expect(host.bugCheck).toBeUndefined();
    } finally {
      await host.stop();
    }
    const r = await replay(file);
    expect(r.sameDriver).toBe(true);
    expect(r.outcome).toBe('same');
    expect(removalOf(r.counters)?.callbacks.map((c) => c.handler)).toEqual(handlers);
  });

  it('a crash in MiniportHaltEx on the removed NIC replays to the same bug check report', async () => {
    const file = join(dir, 'halt-crash.rec');
    const crashDir = mkdtempSync(join(dir, 'crash-'));
    const host = await DriverHost.start({ driver: haltTrustsStatus(), processors: 1, record: file, bugCheckDir: crashDir });
    try {
      await waitUntil('link up', () => host.linkUp, 10_000);
      await host.surpriseRemove().catch(() => undefined);
      await waitUntil('the bug check', () => host.bugCheck !== undefined, 10_000);
    } finally {
      await host.stop();
    }
    expect(host.bugCheck!.message).toMatch(/RX ring index 65535 out of range/);
    const r = await replay(file, { driver: haltTrustsStatus() });
    expect(r.divergence).toBeUndefined();
    expect(r.bugCheck).toEqual(r.recordedBugCheck);
    expect(r.bugCheck).toMatchObject({ name: host.bugCheck!.name, code: host.bugCheck!.code });
    expect(r.outcome).toBe('same');
  });
});
