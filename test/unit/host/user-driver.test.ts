/**
 * A driver module on each framework, without QEMU: the e1000 drivers themselves, each given as a
 * module ({ framework, driverEntry }) the way a user would write one, run by the host's user-driver
 * variant over the fake 82540EM. Shows that the contract is the e1000 variants' DriverEntry shape.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { e1000Device } from '../../../src/drivers/e1000/device.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import { e1000KmdfDriverEntry } from '../../../src/drivers/e1000/kmdf/index.ts';
import { registerE1000Ndis5 } from '../../../src/drivers/e1000/ndis5/index.ts';
import { registerE1000Ndis6 } from '../../../src/drivers/e1000/ndis6/index.ts';
import { checkDriverModule, type DriverModule } from '../../../src/host/frameworks/driver-module.ts';
import { userDriverVariant } from '../../../src/host/frameworks/user-driver.ts';
import type { RunningVariant } from '../../../src/host/frameworks/variant.ts';
import type { Machine } from '../../../src/platform/machine.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { LINE } from '../e1000-miniport/fake-nic.ts';
import { fakeE1000Machine, sendThroughRing, type FakeE1000Machine } from '../e1000-miniport/fake-machine.ts';
import { testFrame } from '../e1000-miniport/rig.ts';
import { waitUntil } from '../../support/wait.ts';

const MAC = '52:54:00:12:34:56';
const SMALL = { txRingSize: 64, rxRingSize: 64, receiveBatch: 16 };

// The register map goes with the module as a user's would: the fake machine runs the lockset
// verifier, which needs to know that IMS/IMC are a set/clear pair and ICR is read-to-clear.
const modules: Record<string, DriverModule> = {
  ndis6: { framework: 'ndis6', registerName, driverEntry: (ndis) => registerE1000Ndis6(ndis, SMALL) },
  ndis5: { framework: 'ndis5', registerName, driverEntry: (ndis) => registerE1000Ndis5(ndis, SMALL) },
  kmdf: { framework: 'kmdf', registerName, driverEntry: (wdf, ctx) => e1000KmdfDriverEntry({ ...SMALL, memory: ctx.memory, dma: ctx.dma })(wdf) },
};

let fake: FakeE1000Machine | undefined;
let running: RunningVariant | undefined;
afterEach(async () => {
  if (running && !running.halted) await running.halt();
  await running?.close();
  await fake?.cleanup();
  running = undefined;
  fake = undefined;
});

describe.each(['ndis6', 'ndis5', 'kmdf'])('a %s driver module on the fake e1000', (framework) => {
  it('comes up with the MAC it reported, moves frames both ways, counts ISRs, halts', async () => {
    fake = fakeE1000Machine(`dirql-user-${framework}-`);
    const machine = { nic: { registers: fake.nic, irqLine: LINE, mac: MAC, model: e1000Device() }, memory: fake.memory, dma: fake.dma } as unknown as Machine;
    const rxRing = new PacketRing({ slotCount: 256 });
    const txRing = new PacketRing({ slotCount: 256 });
    const driver = { ...checkDriverModule(modules[framework], `${framework} module`), source: `${framework} module` };
    running = await userDriverVariant(driver)({ kernel: fake.kernel, machine, rxRing, txRing, settings: { sendPoolSize: 64, sendBatch: 16 } });
    expect(running.framework).toBe(framework);
    expect(running.mac).toBe(MAC);
    // NDIS reports the link through its indications; a KMDF driver through ctx.indicateLink, which the e1000's does not call.
    if (framework !== 'kmdf') expect(running.linkUp).toBe(true);

    const frames = Array.from({ length: 20 }, (_, i) => testFrame(i, 60 + i));
    await sendThroughRing({ txRing, edge: running, nic: fake.nic }, frames);
    expect(fake.nic.sent).toHaveLength(20);
    for (const f of frames.slice(0, 5)) fake.nic.inject(f);
    const consumer = rxRing.consumer();
    let received = 0;
    await waitUntil('five frames in the RX ring', () => {
      received += consumer.dequeueBatch(() => undefined);
      return received >= 5;
    });
    consumer.close();
    expect(running.calls().isr).toBeGreaterThan(0);
    expect(Object.keys(running.frameworkStatistics())).toContain('upperEdge');
    expect(running.adapterStatistics).toBeUndefined();

    await running.halt();
    expect(running.halted).toBe(true);
    expect(fake.kernel.connectedInterrupts).toHaveLength(0);
  });
});
