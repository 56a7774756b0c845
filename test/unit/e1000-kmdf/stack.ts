/**
 * The KMDF e1000 driver and its request-based upper edge on the KMDF facade and the kernel model,
 * with the fake 82540EM underneath: the host's composition without QEMU.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { e1000KmdfDriverEntry, type E1000KmdfDevice, type E1000KmdfOptions } from '../../../src/drivers/e1000/kmdf/index.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import { Kernel } from '../../../src/kernel/index.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { KmdfIoEdge } from '../../../src/upper-edge/kmdf-io.ts';
import { WdfFramework, type WDFDEVICE } from '../../../src/wdf/index.ts';
import { FakeE1000, LINE, BumpDma, FakeLines, TestMemory } from '../e1000-miniport/fake-nic.ts';

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
  const dir = mkdtempSync(join(tmpdir(), 'dirql-kmdf-e1000-'));
  const lines = new FakeLines();
  const kernel = new Kernel({ lines, bugCheckDir: dir, processors: opts.processors ?? 1, seed: opts.seed ?? 1 });
  const memory = new TestMemory();
  const dma = new BumpDma();
  const nic = new FakeE1000(memory, lines, kernel);
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
    kernel, nic, wdf, device, driver, edge, rxRing, txRing, dma,
    startEdge: () => edge.start(device, driver.core!.link.up),
    async cleanup() {
      await edge.stop();
      kernel.dispose();
      if (kernel.stopped) await kernel.bugCheckReport;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (!withoutEdge) s.startEdge();
  return s;
}

export async function until(done: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export function drainRx(ring: PacketRing): Buffer[] {
  const consumer = ring.consumer();
  const out: Buffer[] = [];
  while (consumer.dequeueBatch((view, length) => out.push(Buffer.from(view.subarray(0, length)))) > 0);
  consumer.close();
  return out;
}
