/**
 * The KMDF e1000 driver and its request-based upper edge on the KMDF facade and the kernel model,
 * with the fake 82540EM underneath: the host's composition without QEMU.
 */
import { e1000KmdfDriverEntry, type E1000KmdfDevice, type E1000KmdfOptions } from '../../../src/drivers/e1000/kmdf/index.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import type { Kernel } from '../../../src/kernel/index.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { KmdfIoEdge } from '../../../src/upper-edge/kmdf-io.ts';
import { WdfFramework, type WDFDEVICE } from '../../../src/wdf/index.ts';
import { LINE, type BumpDma, type FakeE1000 } from '../e1000-miniport/fake-nic.ts';
import { fakeE1000Machine } from '../e1000-miniport/fake-machine.ts';

export { drainRx } from '../e1000-miniport/fake-machine.ts';

export interface KmdfStack {
  kernel: Kernel;
  nic: FakeE1000;
  wdf: WdfFramework;
  device: WDFDEVICE;
  driver: E1000KmdfDevice;
  edge: KmdfIoEdge;
  rxRing: PacketRing;
  txRing: PacketRing;
  dma: BumpDma;
  /** Start the upper edge's pumps (reads pending, writes taken from the TX ring). */
  startEdge(): void;
  cleanup(): Promise<void>;
}

export interface KmdfStackOptions extends Partial<Omit<E1000KmdfOptions, 'memory' | 'dma'>> {
  processors?: number;
  /** Seed of the kernel's scheduling choices (several processors). */
  seed?: number;
  readsPending?: number;
  /** Leave the edge stopped (tests that submit requests themselves). */
  withoutEdge?: boolean;
}

export async function bringUpKmdf(opts: KmdfStackOptions = {}): Promise<KmdfStack> {
  const machine = fakeE1000Machine('dirql-kmdf-e1000-', { processors: opts.processors ?? 1, seed: opts.seed ?? 1 });
  const { kernel, memory, dma, nic } = machine;
  const wdf = new WdfFramework(kernel, { name: 'e1000' });
  const { processors: _p, seed: _s, readsPending, withoutEdge, ...driverOptions } = opts;
  await wdf.loadDriver(e1000KmdfDriverEntry({ txRingSize: 64, rxRingSize: 64, receiveBatch: 16, ...driverOptions, memory, dma }));
  const device = await wdf.addDevice();
  const driver = wdf.getContext<E1000KmdfDevice>(device);
  const rxRing = new PacketRing({ slotCount: 256 });
  const txRing = new PacketRing({ slotCount: 256 });
  const edge = new KmdfIoEdge(wdf, { rxRing, txRing, writesInFlight: 128, writeBatch: 32, readsPending: readsPending ?? 64 });
  driver.linkListener = (link) => edge.linkChanged(link.up, link.speedMbps * 1_000_000, link.fullDuplex);
  await wdf.startDevice({ memory: [{ registers: nic, registerName }], interrupts: [{ line: LINE }] }, device);
  const s: KmdfStack = {
    kernel,
    nic,
    wdf,
    device,
    driver,
    edge,
    rxRing,
    txRing,
    dma,
    startEdge: () => edge.start(device, driver.core!.link.up),
    async cleanup() {
      await edge.stop();
      await machine.cleanup();
    },
  };
  if (!withoutEdge) s.startEdge();
  return s;
}
