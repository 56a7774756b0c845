/**
 * The NDIS 5 e1000 miniport and the NDIS 5 upper edge on the NDIS 5 facade and the kernel model,
 * with the fake 82540EM underneath: the host's composition without QEMU.
 */
import { registerE1000Ndis5, type E1000Ndis5Adapter, type E1000Ndis5Options } from '../../../src/drivers/e1000/ndis5/index.ts';
import { registerName } from '../../../src/drivers/e1000/registers.ts';
import type { Kernel } from '../../../src/kernel/index.ts';
import { Ndis5, type Ndis5Adapter, type ProtocolBinding5 } from '../../../src/ndis/ndis5/index.ts';
import { PacketRing } from '../../../src/ring/index.ts';
import { Ndis5ProtocolEdge } from '../../../src/upper-edge/ndis5-protocol.ts';
import { LINE, type BumpDma, type FakeE1000, type FakeLines } from '../e1000-miniport/fake-nic.ts';
import { fakeE1000Machine } from '../e1000-miniport/fake-machine.ts';

export { drainRx } from '../e1000-miniport/fake-machine.ts';

export interface Ndis5Stack {
  kernel: Kernel;
  lines: FakeLines;
  nic: FakeE1000;
  ndis: Ndis5;
  adapter: Ndis5Adapter;
  miniport: E1000Ndis5Adapter;
  edge: Ndis5ProtocolEdge;
  rxRing: PacketRing;
  txRing: PacketRing;
  dma: BumpDma;
  cleanup(): Promise<void>;
}

export interface StackOptions extends E1000Ndis5Options {
  processors?: number;
  /** Seed of the kernel's scheduling choices (several processors). */
  seed?: number;
  /** Bind this protocol instead of the PacketRing upper edge (the edge is still created, unbound). */
  binding?: ProtocolBinding5;
  /** Connect other devices' ISRs to the line before the miniport initializes. */
  beforeInitialize?: (kernel: Kernel, lines: FakeLines) => void;
}

export async function bringUpNdis5(opts: StackOptions = {}): Promise<Ndis5Stack> {
  const machine = fakeE1000Machine('dirql-ndis5-e1000-', { processors: opts.processors ?? 1, seed: opts.seed ?? 1 });
  const { kernel, lines, memory, dma, nic } = machine;
  const ndis = new Ndis5(kernel);
  const { processors: _p, seed: _s, binding, beforeInitialize, ...driverOptions } = opts;
  const driver = registerE1000Ndis5(ndis, { txRingSize: 64, rxRingSize: 64, receiveBatch: 16, ...driverOptions });
  const rxRing = new PacketRing({ slotCount: 256 });
  const txRing = new PacketRing({ slotCount: 256 });
  const edge = new Ndis5ProtocolEdge(ndis, { rxRing, txRing, sendPoolSize: 128, sendBatch: 32 });
  beforeInitialize?.(kernel, lines);
  const adapter = await ndis.initializeMiniport(
    driver,
    {
      registers: nic,
      registerName,
      interrupt: { line: LINE },
      memory,
      dma,
      name: 'e1000',
    },
    { binding: binding ?? edge },
  );
  if (!binding) await edge.bind(adapter);
  return {
    kernel,
    lines,
    nic,
    ndis,
    adapter,
    miniport: adapter.context as E1000Ndis5Adapter,
    edge,
    rxRing,
    txRing,
    dma,
    async cleanup() {
      await edge.stop();
      await machine.cleanup();
    },
  };
}
