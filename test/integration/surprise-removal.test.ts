/**
 * Surprise removal against real QEMU: the NIC is ejected (QMP device_del completed by the PIIX4
 * ACPI eject) under a running driver, and each framework runs the driver's own removal path, with
 * the Windows callbacks in Windows' order and at PASSIVE_LEVEL. The host stays up and answers
 * (stats, the control plane's status and its 'surprise-removed' topic); after stop nothing is left.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TrafficGenerator } from '../../harness/index.ts';
import { ControlClient } from '../../src/control/index.ts';
import { startControl } from '../../src/host/control.ts';
import type { SurpriseRemoval } from '../../src/host/surprise-removal.ts';
import { closeHostWithPeer, openHostWithPeer, PEER_MAC, type HostWithPeer } from './support/e1000-exchange.ts';
import { expectNothingLeft, machineTraces } from './support/leftovers.ts';
import { waitUntil } from '../support/wait.ts';
import { e1000Statistics } from './support/e1000-exchange.ts';

const PASSIVE = 'PASSIVE_LEVEL';

const REMOVAL_PATHS: Record<'ndis6' | 'ndis5' | 'kmdf', Array<{ handler: string; irql: string }>> = {
  // NDIS: IRP_MN_SURPRISE_REMOVAL → the PnP event; IRP_MN_REMOVE_DEVICE → pause (NDIS 6) and halt.
  ndis6: [
    { handler: 'MiniportDevicePnPEventNotify', irql: PASSIVE },
    { handler: 'MiniportPause', irql: PASSIVE },
    { handler: 'MiniportHaltEx', irql: PASSIVE },
  ],
  ndis5: [
    { handler: 'MiniportPnPEventNotify', irql: PASSIVE },
    { handler: 'MiniportHalt', irql: PASSIVE },
  ],
  // KMDF: EvtDeviceSurpriseRemoval before every other callback of the removal sequence.
  kmdf: [
    { handler: 'EvtDeviceSurpriseRemoval', irql: PASSIVE },
    { handler: 'EvtDeviceD0ExitPreInterruptsDisabled', irql: PASSIVE },
    { handler: 'EvtDeviceD0Exit', irql: PASSIVE },
    { handler: 'EvtDeviceReleaseHardware', irql: PASSIVE },
  ],
};

describe.each(['ndis6', 'ndis5', 'kmdf'] as const)('surprise removal of the e1000 under %s', (framework) => {
  it('runs the driver removal path in order at PASSIVE_LEVEL, reads all ones afterwards, keeps the host answering and leaves nothing after stop', async () => {
    let f: HostWithPeer | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'dirql-removal-ctl-'));
    let control: Awaited<ReturnType<typeof startControl>> | undefined;
    let client: ControlClient | undefined;
    try {
      f = await openHostWithPeer(`dirql-removal-${framework}-`, { framework, processors: 2 });
      const { host, peer } = f;
      const traces = machineTraces(host);
      control = await startControl(host, { socketPath: join(dir, 'host.sock') });
      client = await ControlClient.connect({ socketPath: control.socketPath });
      let published!: (payload: unknown) => void;
      const topic = new Promise<unknown>((resolve) => (published = resolve));
      await client.subscribe('surprise-removed', (payload) => published(payload));

      // Traffic first: the driver is busy with sends and their interrupts when the NIC goes.
      await host.sendAll(new TrafficGenerator({ src: host.mac, dst: PEER_MAC, stream: 1, size: 200 }).take(200));
      await waitUntil('frames at the peer', () => peer.counters.framesReceived >= 100, 10_000);
      const event = once(host, 'surprise-removed') as Promise<[SurpriseRemoval]>;
      const removal = await host.surpriseRemove();
      const [emitted] = await event;
      expect(emitted).toBe(removal);

      // QEMU's bus no longer has the NIC, and QEMU is still up.
      const buses = await host.machine.qmp.execute('query-pci');
      expect(buses[0]!.devices.map((d) => d.slot)).not.toContain(host.machine.nic.pci.device);
      expect(host.machine.stub.exit).toBeUndefined();

      expect(removal.bdf).toBe(host.machine.nic.bdf);
      expect(removal.callbacks).toEqual(REMOVAL_PATHS[framework]);
      expect(host.halted).toBe(true);
      expect(host.bugCheck).toBeUndefined();
      expect(host.deviceLoss).toBeUndefined();

      // A removed PCI device reads all ones; writes go nowhere.
      const regs = host.machine.nic.registers;
      expect(await regs.read32(0x8)).toBe(0xffffffff);
      const dropped = regs.droppedWrites;
      regs.write32(0xd0, 0x1f);
      expect(regs.droppedWrites).toBe(dropped + 1);

      // The host answers: stats (the last NIC reading), status and the topic over the control plane.
      const stats = await host.stats();
      expect(stats.surpriseRemoved).toEqual(removal);
      expect(e1000Statistics(stats).driver).toBeDefined();
      const status = (await client.call('status')) as { halted: boolean; surpriseRemoved: unknown; bugCheck: unknown };
      expect(status).toMatchObject({ halted: true, bugCheck: null, surpriseRemoved: removal });
      expect(await topic).toEqual(removal);

      await client.close();
      client = undefined;
      await control.stop();
      control = undefined;
      await host.stop();
      await expectNothingLeft(traces);
    } finally {
      await client?.close();
      await control?.stop();
      await closeHostWithPeer(f);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('a stop while a surprise removal is under way', () => {
  it('waits for the removal path, which halts the driver once, and leaves nothing', async () => {
    let f: HostWithPeer | undefined;
    try {
      f = await openHostWithPeer('dirql-removal-stop-', { framework: 'ndis6', processors: 2 });
      const { host } = f;
      const traces = machineTraces(host);
      const removing = host.surpriseRemove();
      await host.stop();
      const removal = await removing;
      expect(removal.callbacks).toEqual(REMOVAL_PATHS.ndis6);
      expect(host.halted).toBe(true);
      expect(host.bugCheck).toBeUndefined();
      await expectNothingLeft(traces);
    } finally {
      await closeHostWithPeer(f);
    }
  });
});
